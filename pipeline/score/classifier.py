"""A user's reward model or classifier as a scorer: any sequence-classification model.

The score is the softmax probability of the configured class (a quality or safety classifier),
or the raw output of a one-output model (a reward model). Inputs are the prompt and response
as a text pair (the classic cross-encoder form), the response alone, or the model's own chat
template (reward models trained on conversations).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.devices import resolve_device
from pipeline.score.base import Item, Output, Scored, Scorer
from pipeline.score.config import ClassifierScorer as ClassifierConfig


class ClassifierScorer(Scorer):
    outputs = (Output("score", "high"),)

    def __init__(self, config: ClassifierConfig):
        self.config = config
        self.device = resolve_device(config.device, f"score.{config.name}.device")
        self.model: Any = None
        self.tokenizer: Any = None
        self.column = -1

    def setup(self) -> None:
        if self.model is not None:
            return
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from pipeline.train.models import model_path

        path = model_path(self.config.model)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32)
        if self.tokenizer.pad_token is None:  # decoder classifiers find the last token through the pad id
            self.tokenizer.pad_token = self.tokenizer.eos_token
            model.config.pad_token_id = self.tokenizer.pad_token_id
        self.column = self._label_column(model.config)
        self.model = model.to(self.device).eval()

    def _label_column(self, config: Any) -> int:
        label, n = self.config.label, int(config.num_labels)
        if label is None:
            return n - 1
        if isinstance(label, int):
            if not 0 <= label < n:
                raise ValueError(f"score.{self.config.name}.label {label}: the model has {n} outputs")
            return label
        names = {str(v): int(k) for k, v in config.id2label.items()}
        if label not in names:
            raise ValueError(f"score.{self.config.name}.label {label!r} is not one of the model's labels "
                             f"{sorted(names)}")
        return names[label]

    def provenance(self) -> dict[str, Any]:
        from pipeline.model_identity import model_identity
        from pipeline.train.models import model_path

        c = self.config
        return {"scorer": "classifier", "model": c.model, "model_id": model_identity(model_path(c.model)),
                "label": c.label, "input": c.input, "max_length": c.max_length, "version": 1}

    def _encode(self, items: list[Item]) -> Any:
        tok, c = self.tokenizer, self.config
        kw = {"truncation": True, "max_length": c.max_length, "padding": True, "return_tensors": "pt"}
        if c.input == "pair" and all(it.prompt is not None for it in items):
            return tok([it.prompt for it in items], [it.response for it in items], **kw)
        if c.input == "chat":
            texts = [tok.apply_chat_template(([{"role": "user", "content": it.prompt}] if it.prompt else [])
                                             + [{"role": "assistant", "content": it.response}], tokenize=False)
                     for it in items]
            return tok(texts, **kw)
        return tok([it.response for it in items], **kw)

    def score(self, items: list[Item]) -> Scored:
        import torch

        self.setup()
        out = Scored.empty(len(items), 1)
        # Prompt-less items (plain text) and prompted ones go in separate batches (pair or single input).
        order = sorted(range(len(items)), key=lambda i: (items[i].prompt is None,
                                                         -len(items[i].response) - len(items[i].prompt or "")))
        for start in range(0, len(order), self.config.batch_size):
            chunk = order[start:start + self.config.batch_size]
            for part in _by_prompt_presence(chunk, items):
                batch = self._encode([items[i] for i in part]).to(self.device)
                with torch.inference_mode():
                    logits = self.model(**batch).logits.float()
                values = logits[:, 0] if logits.shape[1] == 1 else torch.softmax(logits, dim=1)[:, self.column]
                out.values[np.array(part), 0] = values.cpu().numpy()
        return out


def _by_prompt_presence(chunk: list[int], items: list[Item]) -> list[list[int]]:
    with_prompt = [i for i in chunk if items[i].prompt is not None]
    without = [i for i in chunk if items[i].prompt is None]
    return [p for p in (with_prompt, without) if p]
