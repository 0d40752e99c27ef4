"""Examples to padded tensor batches, and the helpers that make a run repeatable.

An example is `{"input_ids": [int], "labels": int | [int], "row": int}`; `row` points back
to the record in its split's table (for slices). Each batch is padded only to its own longest
example (dynamic padding), so a CPU spends no time on pad tokens of other batches.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Iterator

import pyarrow as pa

IGNORE_INDEX = -100  # positions the loss skips (PyTorch's cross_entropy default)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch: the new head's init and dropout draw from these."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA too


def deterministic_subset(table: pa.Table, limit: int | None) -> pa.Table:
    """At most `limit` records: those with the smallest id hashes, in their original order.

    Hashing the id (not the seed) keeps the same records whatever the seed, so runs that differ
    only in seed compare on the same data, and a record keeps its place as the data grows.
    """
    if limit is None or table.num_rows <= limit:
        return table
    ids = table.column("id").to_pylist()
    order = sorted(range(len(ids)), key=lambda i: hashlib.blake2b(ids[i].encode(), digest_size=8).digest())
    return table.take(sorted(order[:limit]))


def batch_order(n: int, batch_size: int, *, shuffle: bool, seed: int, epoch: int) -> list[list[int]]:
    """Index lists of each batch; shuffled with its own RNG so the order depends only on seed and epoch."""
    order = list(range(n))
    if shuffle:
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def collate(examples: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """Right-pad to the batch's longest example; sequence labels are padded with IGNORE_INDEX."""
    import torch

    width = max(len(e["input_ids"]) for e in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    sequence_labels = isinstance(examples[0]["labels"], list)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long) if sequence_labels else None
    for i, e in enumerate(examples):
        n = len(e["input_ids"])
        input_ids[i, :n] = torch.tensor(e["input_ids"])
        attention_mask[i, :n] = 1
        if sequence_labels:
            labels[i, :n] = torch.tensor(e["labels"])
    if not sequence_labels:
        labels = torch.tensor([e["labels"] for e in examples], dtype=torch.long)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def iterate_batches(
    examples: list[dict[str, Any]], batch_size: int, pad_id: int, *, shuffle: bool = False, seed: int = 0,
    epoch: int = 0,
) -> Iterator[tuple[list[int], dict[str, Any]]]:
    """(example indices, tensor batch) pairs over `examples`."""
    for idx in batch_order(len(examples), batch_size, shuffle=shuffle, seed=seed, epoch=epoch):
        yield idx, collate([examples[i] for i in idx], pad_id)


def to_device(batch: dict[str, Any], device: Any) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}
