"""Run a model over evaluation examples, and break any metric down by slices of the records.

Slices: `source`; origin type (`original`: no parent and no annotation; `augmented`: has a
parent_id; `human_annotated`: an operation `annotate.*`; a record can be both of the last two);
and, for classification, the true `label`. Each slice's metrics carry `n`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Callable, Iterator

import pyarrow as pa

from pipeline.train.batching import IGNORE_INDEX, iterate_batches, to_device
from pipeline.train.loop import autocast


def _eval_logits(model: Any, examples: list[dict], pad_id: int, batch_size: int,
                 device: Any) -> Iterator[tuple[list[int], dict, Any]]:
    """(example indices, batch, logits) per batch, without gradients, in eval mode."""
    import torch

    model.eval()
    with torch.no_grad():
        for idx, batch in iterate_batches(examples, batch_size, pad_id):
            batch = to_device(batch, device)
            with autocast(device):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            yield idx, batch, logits


def classify(model: Any, examples: list[dict], pad_id: int, batch_size: int,
             device: Any) -> tuple[list[int], list[float]]:
    """(predicted label index, cross-entropy) per example, in order."""
    import torch.nn.functional as F

    preds, losses = [0] * len(examples), [0.0] * len(examples)
    for idx, batch, logits in _eval_logits(model, examples, pad_id, batch_size, device):
        loss = F.cross_entropy(logits.float(), batch["labels"], reduction="none")
        for i, p, l in zip(idx, logits.argmax(-1).tolist(), loss.tolist()):
            preds[i], losses[i] = p, l
    return preds, losses


def token_losses(model: Any, examples: list[dict], pad_id: int, batch_size: int,
                 device: Any) -> tuple[list[float], list[int]]:
    """(summed loss, number of answer tokens) per example: corpus losses weight by tokens."""
    import torch.nn.functional as F

    sums, counts = [0.0] * len(examples), [0] * len(examples)
    for idx, batch, logits in _eval_logits(model, examples, pad_id, batch_size, device):
        labels = batch["labels"][:, 1:]  # token t predicts token t + 1
        loss = F.cross_entropy(logits[:, :-1].float().transpose(1, 2), labels, reduction="none",
                               ignore_index=IGNORE_INDEX)
        for i, s, n in zip(idx, loss.sum(1).tolist(), (labels != IGNORE_INDEX).sum(1).tolist()):
            sums[i], counts[i] = s, n
    return sums, counts


def generate(model: Any, tokenizer: Any, prompts: list[list[int]], max_new_tokens: int, batch_size: int,
             device: Any, advance: Callable[[int], None]) -> list[str]:
    """Greedy answers to chat-templated prompts; batches are left-padded so answers line up."""
    import torch

    pad_id = tokenizer.pad_token_id
    answers = []
    model.eval()
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        width = max(len(p) for p in chunk)
        input_ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in chunk], device=device)
        attention_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk], device=device)
        with torch.no_grad(), autocast(device):
            out = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=max_new_tokens,
                                 do_sample=False, pad_token_id=pad_id)
        answers += tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
        advance(len(chunk))
    return [a.strip() for a in answers]


def origin_types(parent_id: str | None, operations: list[dict] | None) -> list[str]:
    ops = [str(op.get("op", "")) for op in operations or []]
    annotated = any(op.startswith("annotate.") for op in ops)
    # A human rewrite also has a parent; it is augmented only if an augmenter made it.
    augmented = bool(parent_id) and (any(op.startswith("augment.") for op in ops) or not annotated)
    types = (["augmented"] if augmented else []) + (["human_annotated"] if annotated else [])
    return types or ["original"]


def slice_members(table: pa.Table, by_label: bool = False) -> dict[str, dict[str, list[int]]]:
    """slice kind -> value -> row indices of the table."""
    members: dict[str, dict[str, list[int]]] = {"source": defaultdict(list), "origin": defaultdict(list)}
    if by_label:
        members["label"] = defaultdict(list)
    cols = table.select(["source", "parent_id", "operations", "label"]).to_pylist()
    for row, r in enumerate(cols):
        members["source"][r["source"]].append(row)
        for origin in origin_types(r["parent_id"], r["operations"]):
            members["origin"][origin].append(row)
        if by_label:
            members["label"][r["label"]].append(row)
    return {kind: dict(sorted(values.items())) for kind, values in members.items()}


def sliced(members: dict[str, dict[str, list[int]]],
           metrics_for: Callable[[str, list[int]], dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Apply `metrics_for(kind, rows)` to every slice; `n` is the slice's record count."""
    return {kind: {value: {**metrics_for(kind, rows), "n": len(rows)} for value, rows in values.items()}
            for kind, values in members.items()}


def code_tests(table: pa.Table) -> dict[int, tuple[str, str]]:
    """row -> (test, entry_point) for code records in the HumanEval layout (`meta` holds both)."""
    out = {}
    for row, (kind, meta) in enumerate(zip(table.column("kind").to_pylist(), table.column("meta").to_pylist())):
        try:
            extra = json.loads(meta) if kind == "code" and meta else {}
        except json.JSONDecodeError:
            continue
        if isinstance(extra, dict) and extra.get("test") and extra.get("entry_point"):
            out[row] = (str(extra["test"]), str(extra["entry_point"]))
    return out
