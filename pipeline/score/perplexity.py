"""Response perplexity and instruction-following difficulty (IFD) under a causal LM.

IFD (Li et al., 2024, "From quantity to quality", the Cherry LLM paper; Data-Juicer's
`llm_ifd` filter) is the response's mean loss given its prompt over its mean loss without it:
near 0 the prompt makes the response easy (the response follows from it), near or above 1 the
prompt does not help (the pair is incoherent, or the response ignores the prompt). "Without
its prompt" keeps the same framing: with a chat template, the same turns with an empty user
message; without one, the response after the beginning-of-text token.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pipeline.score.base import Item, Output, Scored, Scorer
from pipeline.score.causal import CausalLM
from pipeline.score.config import PerplexityScorer as PerplexityConfig


class PerplexityScorer(Scorer):
    outputs = (Output("ppl", "low"), Output("ifd", "high"))

    def __init__(self, config: PerplexityConfig):
        self.config = config
        self.lm = CausalLM(config.model, config.device, config.max_length, config.batch_size)

    def setup(self) -> None:
        self.lm.load()

    def provenance(self) -> dict[str, Any]:
        c = self.config
        return {"scorer": "perplexity", "model": c.model, "model_id": self.lm.fingerprint(),
                "chat_template": c.chat_template, "max_length": c.max_length, "version": 1}

    def _prefixes(self, prompt: str | None) -> tuple[list[int] | None, list[int]]:
        """(context with the prompt or None when there is none, context without it)."""
        lm = self.lm
        if self.config.chat_template and lm.has_chat_template:
            return (None if prompt is None else lm.chat_prefix(prompt)), lm.chat_prefix("")
        start = [t for t in (lm.tokenizer.bos_token_id, lm.tokenizer.eos_token_id) if t is not None][:1]
        return (None if prompt is None else start + lm.encode(prompt + "\n\n")), start

    def score(self, items: list[Item]) -> Scored:
        lm = self.lm
        lm.load()
        pairs, slots = [], []  # slots: (item, 0 with prompt / 1 without)
        for i, item in enumerate(items):
            with_prompt, without = self._prefixes(item.prompt)
            target = lm.encode(item.response)
            if with_prompt is not None:
                pairs.append(lm.fit(with_prompt, target))
                slots.append((i, 0))
            pairs.append(lm.fit(without, target))
            slots.append((i, 1))
        losses = lm.target_losses(pairs)
        conditioned, plain = np.full(len(items), np.nan), np.full(len(items), np.nan)
        for (i, which), loss in zip(slots, losses):
            (conditioned if which == 0 else plain)[i] = loss
        out = Scored.empty(len(items), 2)
        for i, item in enumerate(items):
            loss = conditioned[i] if item.prompt is not None else plain[i]
            if math.isnan(loss):
                out.failures[i] = "empty_response"
                continue
            out.values[i, 0] = math.exp(min(loss, 50.0))
            if item.prompt is not None and plain[i] > 0:
                out.values[i, 1] = conditioned[i] / plain[i]
        return out
