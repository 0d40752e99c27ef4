"""Candidates: what each augmenter makes of a batch of records, with lineage, before any gate.

For every augmenter and every record of a kind it touches, `copies` candidates are made, each
with its own seed (a hash of the record id, the augmenter, the copy and the run's seed, so a
record gets the same candidates whatever batch it falls in). Every configured field is sent
through the augmenter in one call per batch; a candidate whose field could not be augmented
carries the augmenter's reason and is rejected, never dropped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Callable

from pipeline.augment.base import Augmenter, Edit
from pipeline.augment.config import METHODS, AugmenterConfig
from pipeline.records import RECORD_COLUMNS, operation, record_id

STAGE = "augment"


@dataclass
class Candidate:
    parent: dict[str, Any]
    spec: AugmenterConfig
    copy: int
    seed: int
    fields: list[str]
    record: dict[str, Any] | None = None  # the new record; None when the augmenter failed
    failure: str | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    decision: str = "kept"

    @property
    def method(self) -> str:
        return self.spec.method


def candidate_seed(record_id_: str, augmenter: str, copy: int, seed: int) -> int:
    h = hashlib.blake2b(f"{record_id_}\x1f{augmenter}\x1f{copy}\x1f{seed}".encode(), digest_size=4)
    return int.from_bytes(h.digest(), "big") >> 1


def make_augmenter(spec: AugmenterConfig) -> Augmenter:
    module, cls, _ = METHODS[spec.method]
    return getattr(import_module(module), cls)(spec.params_model())


def generate(rows: list[dict[str, Any]], specs: list[AugmenterConfig], augmenters: dict[str, Augmenter],
             copies_for: Callable[[dict[str, Any], AugmenterConfig], int], seed: int) -> list[Candidate]:
    """All candidates for one batch of parent records, in (augmenter, record, copy) order."""
    out: list[Candidate] = []
    for spec in specs:
        assert spec.kinds is not None and spec.fields is not None and spec.name is not None
        todo = []
        for row in rows:
            if row["kind"] not in spec.kinds:
                continue
            fields = [f for f in spec.fields[row["kind"]] if row.get(f)]
            for c in range(copies_for(row, spec)):
                todo.append(Candidate(row, spec, c, candidate_seed(row["id"], spec.name, c, seed), fields))
        if todo:
            _apply(augmenters[spec.name], todo)
            out += todo
    return out


def _edits(augmenter: Augmenter, texts: list[str], prompts: list[str | None], seeds: list[int]) -> list[Edit]:
    if getattr(augmenter, "uses_prompt", False):
        return augmenter.augment_records(texts, prompts, seeds)
    return augmenter.augment(texts, seeds)


def _apply(augmenter: Augmenter, todo: list[Candidate]) -> None:
    """One augmenter call per field over every candidate of the batch."""
    edits: dict[int, dict[str, Edit]] = {i: {} for i in range(len(todo))}
    for f in dict.fromkeys(f for c in todo for f in c.fields):
        idx = [i for i, c in enumerate(todo) if f in c.fields]
        texts = [todo[i].parent[f] for i in idx]
        seeds = [todo[i].seed for i in idx]
        prompts = [todo[i].parent.get("prompt") for i in idx]
        results = _edits(augmenter, texts, prompts, seeds)
        if len(results) != len(idx):
            raise RuntimeError(f"augmenter {augmenter.name} returned {len(results)} edits for {len(idx)} texts")
        for i, e in zip(idx, results):
            edits[i][f] = e
    for i, c in enumerate(todo):
        finish(c, edits[i])


def finish(c: Candidate, edits: dict[str, Edit]) -> None:
    """The candidate's record with lineage, or its failure."""
    if not c.fields:
        c.failure = "augment_failed:no_content"
        return
    if c.parent.get("messages") and "prompt" in c.fields:
        # The conversation would still hold the old prompt: the record would contradict itself.
        c.failure = "augment_failed:multi_turn"
        return
    failed = [e.reason or "no_output" for e in edits.values() if e.text is None]
    if failed:
        c.failure = f"augment_failed:{failed[0]}"
        c.scores["augment_params"] = json.dumps({f: e.params for f, e in edits.items()}, default=str)
        return
    new = {k: c.parent.get(k) for k in RECORD_COLUMNS}
    for f, e in edits.items():
        new[f] = e.text
    new["id"] = record_id(new["kind"], new["source"], new)
    new["parent_id"] = c.parent["id"]
    new["group_id"] = c.parent["group_id"]
    params = {f: e.params for f, e in edits.items()}
    op = operation(f"augment.{c.spec.method}", STAGE, augmenter=c.spec.name, copy=c.copy, seed=c.seed,
                   fields=c.fields, edits=params, config=c.spec.params)
    new["operations"] = [*(c.parent.get("operations") or []), op]
    c.record = new
    c.scores["augment_params"] = json.dumps(params, default=str)
