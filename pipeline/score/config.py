"""The score step's settings: which scorers run, each with its model and its decision.

A scorer writes its scores as columns first; the decision (bounds, top-k, what a missing score
means) is separate, so a report or a later run can re-decide without scoring again.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from pipeline.config_base import Strict, require_unique

Kind = Literal["classification", "instruction", "code"]
_NAME = r"^[a-z][a-z0-9_]*$"


class Decision(Strict):
    """Keep or reject on one of the scorer's outputs. Nothing set: score only, keep everything."""

    score: str | None = Field(default=None, description="the output that decides (default: the scorer's first)")
    min: float | None = None
    max: float | None = None
    top_fraction: float | None = Field(default=None, gt=0, le=1,
                                       description="keep this fraction of the scored records, best first")
    top_k: int | None = Field(default=None, ge=1, description="keep this many scored records, best first")
    better: Literal["high", "low"] | None = Field(
        default=None, description="which end top-k keeps (default: the output's own direction)")
    on_missing: Literal["keep", "reject"] = Field(
        default="keep", description="a record the scorer could not score (endpoint down, unparsable answer): "
        "kept with the reason in score_<name>_missing, or rejected with it")

    @model_validator(mode="after")
    def _one_top(self) -> "Decision":
        if self.top_fraction is not None and self.top_k is not None:
            raise ValueError("set top_fraction or top_k, not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        return self

    @property
    def selects_top(self) -> bool:
        return self.top_fraction is not None or self.top_k is not None


class _Scorer(Strict):
    name: str = Field(pattern=_NAME, description="columns are score_<name>_<output>; the stage is score_<name>")
    kinds: list[Kind] | None = Field(default=None, description="record kinds to score (default: the scorer's own)")
    decide: Decision = Field(default_factory=Decision)
    worker_resources: dict[str, float] = Field(
        default_factory=dict, description="Dask resources a scoring task needs, e.g. {GPU: 1}")


class _ModelScorer(_Scorer):
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(default=16, ge=1, le=4096)
    max_length: int = Field(default=512, ge=16, description="tokens per scored sequence (longer: truncated)")


class PerplexityScorer(_ModelScorer):
    """Response perplexity under a causal LM, and IFD: the response's loss with its prompt over
    its loss without it (Li et al., 2024, "From quantity to quality"); outputs `ppl`, `ifd`."""

    kind: Literal["perplexity"]
    model: str = Field(default="smollm2", description="smollm2 (offline), a local folder, or a hub id")
    chat_template: bool = Field(default=True, description="wrap the prompt as a user turn when the model has one")


class ClassifierScorer(_ModelScorer):
    """A reward model or a classifier the user names (any sequence-classification folder or hub id);
    output `score`: the probability of `label`, or the raw value of a one-output (reward) model."""

    kind: Literal["classifier"]
    model: str = Field(description="a sequence-classification model folder or hub id")
    label: str | int | None = Field(default=None, description="the class whose probability is the score "
                                    "(name or index); default: the last class, or the one output")
    input: Literal["pair", "response", "chat"] = Field(
        default="pair", description="pair: (prompt, response) as a text pair; chat: the model's chat template")


class JudgeScorer(_Scorer):
    """An LLM judge with a rubric; output `score` on the rubric's scale."""

    kind: Literal["judge"]
    backend: Literal["transformers", "openai"] = "transformers"
    model: str = Field(default="smollm2", description="transformers: folder/hub id/smollm2; openai: the "
                                                      "endpoint's model name")
    url: str | None = Field(default=None, description="openai: the endpoint's base URL, e.g. http://host:8000/v1")
    api_key_env: str | None = Field(default="OPENAI_API_KEY", description="openai: environment variable "
                                    "holding the key (unset: no key sent)")
    rubric: str | None = Field(default=None, description="the prompt template, with {prompt} and {response}; "
                               "default: a 1-5 helpfulness rubric")
    scale: tuple[int, int] = (1, 5)
    mode: Literal["generate", "expected"] = Field(
        default="generate", description="expected (transformers only): the probability-weighted score over the "
        "scale's digits, one forward pass; generate: the answer's first number on the scale")
    max_new_tokens: int = Field(default=8, ge=1, le=512)
    temperature: float = Field(default=0.0, ge=0)
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=20, description="on timeouts, connection errors, 429 and 5xx")
    requests_per_second: float | None = Field(default=None, gt=0, description="openai: rate limit")
    concurrency: int = Field(default=4, ge=1, le=256, description="openai: requests in flight")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(default=8, ge=1, le=1024)
    max_length: int = Field(default=1024, ge=16)

    @model_validator(mode="after")
    def _backend_settings(self) -> "JudgeScorer":
        if self.backend == "openai" and not self.url:
            raise ValueError("backend openai needs url: the endpoint's base URL, e.g. http://127.0.0.1:8000/v1")
        if self.backend == "openai" and self.mode == "expected":
            raise ValueError("mode expected reads the model's logits: it needs backend transformers")
        if self.scale[0] >= self.scale[1] or self.scale[0] < 0 or self.scale[1] > 9:
            raise ValueError(f"scale {self.scale}: two single digits, low < high")
        return self


class FlaggedWordsScorer(_Scorer):
    """The fraction of a record's words that are on the flagged-word list of its language
    (LDNOOBW, from the `naughty-words` package); output `ratio`."""

    kind: Literal["flagged_words"]
    languages: list[str] | None = Field(default=None, description="lists to use (default: every shipped "
                                        "one); a record uses its clean-step `lang`, else `default_language`")
    default_language: str = "en"


ScorerSpec = Annotated[Union[PerplexityScorer, ClassifierScorer, JudgeScorer, FlaggedWordsScorer],
                       Field(discriminator="kind")]


class ScoreConfig(Strict):
    enabled: bool = Field(default=False, description="run the score step (models cost time: opt in)")
    scorers: list[ScorerSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> "ScoreConfig":
        require_unique([s.name for s in self.scorers], "scorer")
        return self
