"""Tiny record tables for the training tests, written here (no data files)."""

from __future__ import annotations

import json
import random
from typing import Any

import pyarrow as pa

from pipeline.records import empty_record, operation, record_id, records_to_table

WORDS = {
    "pos": ["great", "wonderful", "excellent", "lovely", "fantastic", "superb", "delightful"],
    "neg": ["awful", "terrible", "horrible", "dreadful", "poor", "disappointing", "broken"],
    "neutral": ["okay", "average", "fine", "ordinary", "acceptable", "standard", "middling"],
}
THINGS = ["movie", "meal", "service", "book", "hotel", "phone", "concert", "laptop"]

QA = [
    ("What is the capital of France?", "Paris."),
    ("What color is a clear daytime sky?", "Blue."),
    ("How many legs does a dog have?", "Four."),
    ("What is two plus two?", "Four."),
    ("What is the opposite of hot?", "Cold."),
    ("What do bees make?", "Honey."),
    ("Which animal says moo?", "A cow."),
    ("What is frozen water called?", "Ice."),
    ("What is the largest planet in the solar system?", "Jupiter."),
    ("How many days are in a week?", "Seven."),
]

ADD_PROMPT = 'def add(a, b):\n    """Return the sum of a and b."""\n'
ADD_SOLUTION = "    return a + b\n"
ADD_TEST = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"


def record(kind: str, source: str = "test", *, parent_id: str | None = None, annotated: bool = False,
           meta: dict | None = None, **fields: Any) -> dict[str, Any]:
    """A schema-complete record with a real id; `annotated` adds an annotate.* operation."""
    ops = [operation("collect.jsonl", "collect")]
    if annotated:
        ops.append(operation("annotate.label_studio", "annotate", task=1))
    rid = record_id(kind, source, fields)
    return empty_record(id=rid, kind=kind, source=source, group_id=rid, operations=ops, parent_id=parent_id,
                        meta=json.dumps(meta) if meta else None, **fields)


def classification_table(n: int, seed: int, labels: tuple[str, ...] = ("pos", "neg", "neutral"),
                         counts: dict[str, int] | None = None) -> pa.Table:
    """Short reviews whose label is given away by one word; two sources, some augmented or annotated."""
    rng = random.Random(seed)
    plan = [label for label, k in counts.items() for _ in range(k)] if counts else \
        [labels[i % len(labels)] for i in range(n)]
    rows = []
    for i, label in enumerate(plan):
        text = f"The {rng.choice(THINGS)} was {rng.choice(WORDS[label])}, seed {seed} item {i}."
        rows.append(record("classification", source=["shop", "forum"][i % 2], text=text, label=label,
                           parent_id="0" * 32 if i % 5 == 1 else None, annotated=i % 7 == 3))
    return records_to_table(rows)


def instruction_table(pairs: list[tuple[str, str]], source: str = "qa") -> pa.Table:
    return records_to_table([record("instruction", source, prompt=q, response=a, parent_id="1" * 32 if i == 1 else None)
                             for i, (q, a) in enumerate(pairs)])


def code_record(source: str = "humaneval", with_tests: bool = True) -> dict[str, Any]:
    meta = {"test": ADD_TEST, "entry_point": "add"} if with_tests else None
    return record("code", source, prompt=ADD_PROMPT, code=ADD_PROMPT + ADD_SOLUTION, language="python", meta=meta)


def train_tiny_classifier(out, n_train: int, epochs: int, learning_rate: float, data_version: str = "v"):
    """MiniLM fine-tuned on `n_train` one-keyword reviews (validation and test: a fifth each); the
    saved model folder and its result. Seconds on 2 cores."""
    from pipeline.train import TrainConfig, train_and_evaluate

    n_eval = max(n_train // 5, 12)
    splits = classification_table(n_train, seed=0), classification_table(n_eval, seed=1), \
        classification_table(n_eval, seed=2)
    config = TrainConfig(epochs=epochs, batch_size=16, max_length=32, learning_rate=learning_rate)
    return out, train_and_evaluate(*splits, config, out, data_version=data_version)
