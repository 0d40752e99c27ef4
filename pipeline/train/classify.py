"""Sequence classification: a new head on a pretrained encoder, selected on validation macro-F1."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pyarrow as pa

from pipeline.train.config import TrainConfig
from pipeline.train.evaluate import classify, slice_members, sliced
from pipeline.train.metrics import classification_report, mean
from pipeline.train.models import load_classifier


def label_set(*tables: pa.Table) -> list[str]:
    """Every label of every split: a label seen only in test still gets a row in the confusion."""
    return sorted({label for t in tables for label in t.column("label").to_pylist() if label is not None})


def encode_texts(table: pa.Table, tokenizer: Any, label_ids: dict[str, int], max_length: int) -> tuple[list[dict], int]:
    """(examples, number truncated); the tokenizer pads nothing here, batches pad themselves."""
    texts, labels = table.column("text").to_pylist(), table.column("label").to_pylist()
    if not texts:
        return [], 0
    encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    untruncated = tokenizer(texts, truncation=False)["input_ids"] if texts else []
    truncated = sum(len(a) > len(b) for a, b in zip(untruncated, encoded))
    return [{"input_ids": ids, "labels": label_ids[y], "row": row}
            for row, (ids, y) in enumerate(zip(encoded, labels))], truncated


def oversample(examples: list[dict], seed: int) -> list[dict]:
    """Repeat examples of each smaller class (cycling a seeded shuffle) up to the largest class's count."""
    by_class: dict[int, list[dict]] = {}
    for e in examples:
        by_class.setdefault(e["labels"], []).append(e)
    target = max(len(v) for v in by_class.values())
    out = list(examples)
    rng = random.Random(seed)
    for label in sorted(by_class):
        members = list(by_class[label])
        rng.shuffle(members)
        out += [members[i % len(members)] for i in range(target - len(members))]
    return out


def class_weights(examples: list[dict], n_labels: int) -> list[float]:
    """n / (k * count) per class (scikit-learn's 'balanced'); a class absent from train gets 1."""
    counts = Counter(e["labels"] for e in examples)
    k = len(counts)
    return [len(examples) / (k * counts[i]) if counts[i] else 1.0 for i in range(n_labels)]


class ClassificationTask:
    name = "classification"
    score_key, higher_is_better = "val_macro_f1", True

    def __init__(self, train: pa.Table, validation: pa.Table, test: pa.Table, config: TrainConfig, device: Any):
        self.tables = {"train": train, "validation": validation, "test": test}
        self.config, self.device = config, device
        self.labels = label_set(train, validation, test)
        self.dropped: Counter = Counter()
        self.truncated: Counter = Counter()  # texts cut to max_length, by split
        self.weights = None

    def load(self) -> tuple[Any, Any, str]:
        return load_classifier(self.config.model, self.labels)

    def prepare(self, tokenizer: Any) -> list[dict]:
        """Encode every split; returns the training examples (oversampled if configured)."""
        self.pad_id = tokenizer.pad_token_id
        label_ids = {label: i for i, label in enumerate(self.labels)}
        self.examples = {}
        for split, table in self.tables.items():
            self.examples[split], self.truncated[split] = encode_texts(
                table, tokenizer, label_ids, self.config.max_length
            )
        train = self.examples["train"]
        if self.config.imbalance == "oversample":
            train = oversample(train, self.config.seed)
        elif self.config.imbalance == "class_weights":
            import torch

            self.weights = torch.tensor(class_weights(train, len(self.labels)), device=self.device)
        return train

    def loss(self, model: Any, batch: dict[str, Any]) -> Any:
        import torch.nn.functional as F

        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        return F.cross_entropy(logits.float(), batch["labels"], weight=self.weights)

    def _predict(self, model: Any, split: str) -> tuple[list[int], list[int], list[float]]:
        examples = self.examples[split]
        preds, losses = classify(model, examples, self.pad_id, self.config.eval_batch_size, self.device)
        return [e["labels"] for e in examples], preds, losses

    def validate(self, model: Any) -> dict[str, float]:
        y_true, y_pred, losses = self._predict(model, "validation")
        report = classification_report(y_true, y_pred, self.labels)
        return {"val_loss": mean(losses), "val_macro_f1": report["macro_f1"]}

    def test(self, model: Any, progress: Any = None) -> dict[str, Any]:
        """Test metrics, per class, confusion and slices; metrics also hold the kept weights' validation scores."""
        y_true, y_pred, losses = self._predict(model, "test")
        out = evaluate_predictions(self.tables["test"], self.labels, y_true, y_pred, losses)
        out["metrics"] = {**self.validate(model), **out["metrics"]}
        # Per test item (labels as strings: another variant's model may number them differently),
        # for intervals over items and seeds (pipeline.experiments.stats).
        out["items"] = {"id": self.tables["test"].column("id").to_pylist(),
                        "true": [self.labels[i] for i in y_true], "pred": [self.labels[i] for i in y_pred],
                        "loss": losses}
        return out


def evaluate_predictions(table: pa.Table, labels: list[str], y_true: list[int], y_pred: list[int],
                         losses: list[float]) -> dict[str, Any]:
    """The classification metrics of one split; shared with the TF-IDF baseline."""
    report = classification_report(y_true, y_pred, labels)

    def metrics_for(kind: str, rows: list[int]) -> dict[str, float]:
        sub = classification_report([y_true[i] for i in rows], [y_pred[i] for i in rows], labels)
        # Within one true label accuracy is that label's recall; macro-F1 would mean nothing there.
        return {"accuracy": sub["accuracy"]} if kind == "label" else \
            {"accuracy": sub["accuracy"], "macro_f1": sub["macro_f1"]}

    metrics = {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
               "test_loss": mean(losses)}
    return {"metrics": metrics, "per_class": report["per_class"], "confusion": report["confusion"],
            "slices": sliced(slice_members(table, by_label=True), metrics_for)}
