"""Which models to train on which records, and which data variants an ablation compares."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from pipeline.config_base import Strict, require_unique
from pipeline.train import TrainConfig


class TrainTask(Strict):
    """One model to train: the records of one kind (optionally of some sources) and its settings."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    kind: str = Field(pattern=r"^(classification|instruction|code)$")
    sources: list[str] | None = Field(default=None, description="only records of these sources; default all")
    train: TrainConfig = Field(default_factory=TrainConfig)


class Variant(Strict):
    """A data variant: the records as they stand after one pipeline stage."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    after: str = Field(description="the stage whose kept records form this variant, e.g. collect or clean")


class AblationConfig(Strict):
    variants: list[Variant] = Field(
        default_factory=lambda: [Variant(name="raw", after="collect"), Variant(name="cleaned", after="clean")],
        min_length=1,
    )
    tasks: list[str] | None = Field(default=None, description="train tasks to ablate; default all")
    eval_variant: str | None = Field(
        default=None, description="whose validation and test split every variant is scored on; default the last")
    baseline: bool = Field(default=True, description="also score a TF-IDF + logistic regression baseline")
    seeds: int = Field(default=3, ge=1, le=100, description="trainings per variant, seeds train.seed, +1, ...")
    random_control: bool = Field(
        default=True, description="also train, per variant after the first, the previous variant's train "
        "split cut at random to this variant's size (whole groups), with the same seeds")
    intervals: bool = Field(
        default=True, description="bootstrap 95% intervals over test items and seeds, and a verdict per "
        "stage (helps / hurts / can't tell); needs seeds >= 2")
    leakage: bool = Field(
        default=True, description="also report every test metric by how close each test item is to the "
        "arm's train split: exact copy, near duplicate (char 5-gram Jaccard >= 0.7), semantic neighbour "
        "(MiniLM cosine >= 0.9) or none")
    resamples: int = Field(default=1000, ge=100, le=100_000, description="bootstrap resamples")
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0, description="of the intervals")

    @field_validator("variants")
    @classmethod
    def _unique(cls, v: list[Variant]) -> list[Variant]:
        require_unique([x.name for x in v], "variant")
        return v

    @model_validator(mode="after")
    def _seeds_for_intervals(self) -> "AblationConfig":
        if self.intervals and self.seeds < 2:
            raise ValueError(f"intervals need seeds >= 2 (got seeds: {self.seeds}): one seed cannot say how "
                             "much a second would move the score; set seeds: 3, or intervals: false")
        return self

    @model_validator(mode="after")
    def _eval_variant_known(self) -> "AblationConfig":
        if self.eval_variant is not None and self.eval_variant not in {v.name for v in self.variants}:
            raise ValueError(f"eval_variant {self.eval_variant!r} is not a variant")
        return self
