"""An LLM judge: a rubric prompt per record, the answer read as a score on the rubric's scale.

Two backends: a local `transformers` causal LM (default SmolLM2 from the offline package), and
any OpenAI-compatible chat endpoint (vLLM, TGI, Ollama) through `endpoint.py`. The local model
can also be read without generating (`mode: expected`): the probability-weighted mean of the
scale's digits as the first answer token, which never fails to parse. The scores' provenance
is the backend, the model (with its fingerprint when local), the template's SHA-256 and the
generation settings; the date of each score is kept beside it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

from pipeline.score.base import Item, Output, Scored, Scorer
from pipeline.score.causal import CausalLM
from pipeline.score.config import JudgeScorer as JudgeConfig

DEFAULT_RUBRIC = """Rate how well the response answers the instruction, on a scale of {low} to {high}.
{low} means wrong, off-topic or unhelpful; {high} means correct, complete and clearly written.
Answer with the number only.

Instruction:
{prompt}

Response:
{response}"""
_NUMBER = re.compile(r"(?<![\d.])(\d+)(?:\.\d+)?(?!\d)")


def parse_score(answer: str, low: int, high: int) -> float | None:
    """The answer's first number when it lies on the scale, else None (unparsable)."""
    match = _NUMBER.search(answer or "")
    if match is None:
        return None
    value = float(match.group(0))
    return value if low <= value <= high else None


class JudgeScorer(Scorer):
    outputs = (Output("score", "high"),)
    default_kinds = ("instruction", "code")

    def __init__(self, config: JudgeConfig, client: Any = None):
        """`client`: an endpoint client (endpoint.ChatClient) for the openai backend, passed in."""
        self.config = config
        self.template = config.rubric or DEFAULT_RUBRIC
        self.client = client
        self.lm = CausalLM(config.model, config.device, config.max_length, config.batch_size) \
            if config.backend == "transformers" else None
        if config.backend == "openai" and client is None:
            raise ValueError(f"score.{config.name}: the openai backend needs an endpoint client")

    def setup(self) -> None:
        if self.lm is not None:
            self.lm.load()

    def provenance(self) -> dict[str, Any]:
        c = self.config
        return {"scorer": "judge", "backend": c.backend, "model": c.model,
                "model_id": self.lm.fingerprint() if self.lm is not None else c.url,
                "template_sha256": hashlib.sha256(self.template.encode()).hexdigest(),
                "settings": {"mode": c.mode, "temperature": c.temperature, "max_new_tokens": c.max_new_tokens,
                             "scale": list(c.scale)}, "version": 1}

    def prompt_of(self, item: Item) -> str:
        low, high = self.config.scale
        return self.template.format(prompt=item.prompt or "", response=item.response, low=low, high=high)

    def score(self, items: list[Item]) -> Scored:
        prompts = [self.prompt_of(it) for it in items]
        out = Scored.empty(len(items), 1)
        if self.config.mode == "expected":
            out.values[:, 0] = self._expected(prompts)
            return out
        answers = self._generate(prompts) if self.lm is not None else self.client.complete_many(prompts)
        low, high = self.config.scale
        for i, answer in enumerate(answers):
            if isinstance(answer, Exception) or answer is None:
                out.failures[i] = getattr(answer, "reason", "no_answer")
                continue
            value = parse_score(answer, low, high)
            if value is None:
                out.failures[i] = "unparsable"
            else:
                out.values[i, 0] = value
        return out

    def _generate(self, prompts: list[str]) -> list[str]:
        c = self.config
        return self.lm.generate_chat(prompts, c.max_new_tokens, c.temperature, c.batch_size)

    def _expected(self, prompts: list[str]) -> np.ndarray:
        """The scale's mean under the model's distribution over its digits as the next token."""
        import torch

        lm = self.lm
        assert lm is not None
        lm.load()
        low, high = self.config.scale
        digits = [lm.encode(str(d)) for d in range(low, high + 1)]
        if any(len(d) != 1 for d in digits):
            raise ValueError(f"mode expected: the tokenizer of {self.config.model} splits a digit into several tokens")
        ids = [d[0] for d in digits]
        scale = torch.arange(low, high + 1, dtype=torch.float32)
        out = np.empty(len(prompts))
        for start in range(0, len(prompts), self.config.batch_size):
            contexts = [lm.chat_prefix(p)[-self.config.max_length:] for p in prompts[start:start + self.config.batch_size]]
            width = max(map(len, contexts))
            pad = lm.tokenizer.pad_token_id or 0
            x = torch.tensor([[pad] * (width - len(c)) + c for c in contexts], device=lm.device)
            mask = torch.tensor([[0] * (width - len(c)) + [1] * len(c) for c in contexts], device=lm.device)
            positions = (mask.cumsum(dim=1) - 1).clamp(min=0)  # left padding must not shift positions
            with torch.inference_mode():
                logits = lm.model(input_ids=x, attention_mask=mask, position_ids=positions).logits[:, -1, ids]
            logits = logits.float().cpu()
            out[start:start + len(contexts)] = (torch.softmax(logits, dim=1) * scale).sum(dim=1).numpy()
        return out
