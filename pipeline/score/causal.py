"""Batched losses of a causal LM over target tokens that follow a context.

Sequences are sorted by length and packed into batches of a token budget, so a batch pads to
similar lengths and its logits (batch x length x vocabulary floats) stay bounded on the CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.devices import resolve_device

# SmolLM2's 49,152-word vocabulary makes the logits ~200 KB a token in fp32: 2,048 tokens a batch
# keeps them near 400 MB on the CPU.
CPU_BATCH_TOKENS = 2048
GPU_BATCH_TOKENS = 32768


class CausalLM:
    """A causal LM and its tokenizer, loaded on first use, evaluated without gradients."""

    def __init__(self, name: str, device: str = "auto", max_length: int = 512, batch_size: int = 16):
        self.name = name
        self.device = resolve_device(device)
        self.max_length = max_length
        self.batch_size = batch_size
        self.model: Any = None
        self.tokenizer: Any = None
        self.path = ""

    def load(self) -> None:
        if self.model is not None:
            return
        import torch

        from pipeline.train.models import load_causal_lm

        model, self.tokenizer, self.path = load_causal_lm(self.name)
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.model = model.to(self.device, dtype=dtype).eval()

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def chat_prefix(self, user: str, system: str | None = None) -> list[int]:
        """The tokens of a user turn and the assistant's header (generation prompt)."""
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):  # transformers 5 may return a BatchEncoding
            ids = ids["input_ids"]
        return list(ids)

    def generate_chat(self, prompts: list[str], max_new_tokens: int, temperature: float = 0.0,
                      batch_size: int = 8) -> list[str]:
        """One answer per prompt (a user turn), greedy at temperature 0, in batches."""
        import torch

        self.load()
        tok = self.tokenizer
        answers: list[str] = []
        for start in range(0, len(prompts), batch_size):
            contexts = [self.chat_prefix(p)[-self.max_length:] for p in prompts[start:start + batch_size]]
            width = max(map(len, contexts))
            pad = tok.pad_token_id or 0
            # Left padding: every row's answer starts at the same position.
            ids = torch.tensor([[pad] * (width - len(x)) + x for x in contexts], device=self.device)
            mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in contexts], device=self.device)
            sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
            with torch.inference_mode():
                generated = self.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                                                pad_token_id=pad, **sampling)
            answers.extend(tok.batch_decode(generated[:, width:], skip_special_tokens=True))
        return answers

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def fit(self, context: list[int], target: list[int]) -> tuple[list[int], list[int]]:
        """Cut to max_length: the target keeps at least half of it, the context loses its start."""
        target = target[: max(1, self.max_length - min(len(context), self.max_length // 2))]
        room = self.max_length - len(target)
        return (context[-room:] if room > 0 else []), target

    def target_losses(self, pairs: list[tuple[list[int], list[int]]]) -> np.ndarray:
        """Mean cross-entropy (nats per token) of each target given its context (NaN: empty target)."""
        import torch

        self.load()
        out = np.full(len(pairs), np.nan)
        lengths = np.array([len(c) + len(t) for c, t in pairs])
        order = np.argsort(-lengths, kind="stable")
        budget = CPU_BATCH_TOKENS if self.device == "cpu" else GPU_BATCH_TOKENS
        start = 0
        while start < len(order):
            size = max(1, min(self.batch_size, budget // max(1, int(lengths[order[start]]))))
            idx = order[start:start + size]
            start += size
            with torch.inference_mode():
                out[idx] = self._batch_losses([pairs[i] for i in idx])
        return out

    def _batch_losses(self, pairs: list[tuple[list[int], list[int]]]) -> np.ndarray:
        import torch

        width = max(len(c) + len(t) for c, t in pairs)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(pairs), width), pad, dtype=torch.long)
        attention = torch.zeros((len(pairs), width), dtype=torch.long)
        scored = torch.zeros((len(pairs), width), dtype=torch.bool)  # positions whose token is a target
        for row, (context, target) in enumerate(pairs):
            seq = context + target
            ids[row, : len(seq)] = torch.tensor(seq)
            attention[row, : len(seq)] = 1
            # The first token has nothing before it to be predicted from.
            scored[row, max(1, len(context)): len(seq)] = True
        ids, attention, scored = ids.to(self.device), attention.to(self.device), scored.to(self.device)
        logits = self.model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
        targets = ids[:, 1:]
        losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        mask = scored[:, 1:]
        counts = mask.sum(dim=1)
        means = (losses * mask).sum(dim=1) / counts.clamp(min=1)
        means[counts == 0] = float("nan")
        return means.cpu().numpy()

    def fingerprint(self) -> str:
        """The model's identity (a retrained model scores differently)."""
        from pipeline.model_identity import model_identity
        from pipeline.train.models import model_path

        return model_identity(model_path(self.name))
