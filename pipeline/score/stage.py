"""A scorer as a stage (score_<name>): score every record, then decide.

  pass 1 (plan): each shard scored on a worker (one model load per worker process), through the
      score cache; the driver sees every score, so a top-k decision ranks the whole input;
  pass 2 (shards): each shard re-read with its own scores and decisions: kept records gain the
      score columns, rejected ones name the decision (`score_missing`, `score_below_min`,
      `score_above_max`, `score_not_top`) and the value;
  pass 3 (finish): provenance.json (what made the scores) and the counters.

Columns: `score_<name>_<output>` per output, `score_<name>_missing` (why a record has no score),
`score_<name>_by` (the provenance id, a key of provenance.json) and `score_<name>_at` (when it
was scored, UTC to the minute). Records of kinds the scorer does not score pass with nulls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.atomic import write_json_atomic
from pipeline.fingerprint import hash_json
from pipeline.parts import BatchResult, Shard
from pipeline.records import operation
from pipeline.rows import reject_row, reject_rows, with_columns
from pipeline.score.base import iso_minute, item_of, provenance_id, score_cached
from pipeline.score.decide import Verdicts, decide
from pipeline.score.scorers import make_scorer
from pipeline.stage import Passes, ShardInput, ShardResults, Stage

_CONTENT = ("id", "kind", "system", "prompt", "response", "code", "text", "lang")
_SCORERS: dict[str, Any] = {}  # per process: a worker loads each scorer's model once


@dataclass
class ShardScores:
    values: np.ndarray  # (n, k)
    failures: list[str | None]
    minutes: np.ndarray
    applies: np.ndarray  # (n,) bool: the record's kind is scored
    counters: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreJob:
    stage: "ScoreStage"
    columns: tuple[str, ...]
    batch_size: int


def score_shard(job: ScoreJob, shard: Shard) -> ShardScores:
    """Pass 1 on a worker: one shard's scores."""
    stage = job.stage
    scorer = stage.scorer()
    kinds = set(stage.kinds())
    items, applies = [], []
    for batch in ShardInput(shard, Path("."), job.batch_size).batches(job.columns):
        for row in batch.to_pylist():
            applies.append(row["kind"] in kinds)
            if applies[-1]:
                items.append(item_of(row["kind"], row))
    applies_arr = np.array(applies, dtype=bool)
    n, k = len(applies), len(scorer.outputs)
    values, minutes, failures = np.full((n, k), np.nan), np.full(n, np.nan), [None] * n
    counters: dict[str, int] = {}
    if items:
        scored = score_cached(scorer, items, stage.cache())
        rows = np.flatnonzero(applies_arr)
        values[rows], minutes[rows] = scored.values, scored.minutes
        for r, failure in zip(rows, scored.failures):
            failures[r] = failure
        counters = scored.counters
    return ShardScores(values, failures, minutes, applies_arr, counters)


class ScoreStage(Stage):
    version = "1"

    def __init__(self, spec: Any, cache_dir: str | Path | None = None, client: Any = None):
        super().__init__(spec)
        self.name = f"score_{spec.name}"
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.client = client  # an endpoint client, for scorers that call a server
        self._provenance: dict[str, Any] | None = None
        self._scores: dict[str, ShardScores] = {}
        self._counters: dict[str, int] = {}
        self._verdicts: Verdicts | None = None

    # -- identity ---------------------------------------------------------------------------
    def scorer(self) -> Any:
        key = hash_json(self.config.model_dump(mode="json"))
        if key not in _SCORERS:
            _SCORERS[key] = make_scorer(self.config, self.client)
        return _SCORERS[key]

    def provenance(self) -> dict[str, Any]:
        if self._provenance is None:
            self._provenance = self.scorer().provenance()
        return self._provenance

    def kinds(self) -> tuple[str, ...]:
        return tuple(self.config.kinds or self.scorer().default_kinds)

    def cache(self) -> Any:
        if self.cache_dir is None:
            return None
        from pipeline.vector_cache import VectorCache

        p = self.provenance()
        return VectorCache(self.cache_dir, f"{p['scorer']}-{self.config.name}|{provenance_id(p)}")

    def stage_config(self) -> Any:
        c = self.config.model_dump(mode="json")
        c.pop("worker_resources", None)  # where scores are computed does not change them
        return c

    def input_fingerprint(self, source: Any) -> str:
        return hash_json({"source": source.fingerprint, "scorer": self.provenance()})

    def columns(self) -> list[tuple[str, pa.DataType]]:
        prefix = f"score_{self.config.name}"
        return [*((f"{prefix}_{o.name}", pa.float64()) for o in self.scorer().outputs),
                (f"{prefix}_missing", pa.string()), (f"{prefix}_by", pa.string()), (f"{prefix}_at", pa.string())]

    def kept_schema(self, input_schema: pa.Schema | None) -> pa.Schema:
        assert input_schema is not None
        own = self.columns()
        names = {n for n, _ in own}
        return pa.schema([f for f in input_schema if f.name not in names] + [pa.field(n, t) for n, t in own])

    # -- passes -----------------------------------------------------------------------------
    def plan(self, source: Any, passes: Passes) -> dict[str, Any]:
        names = set(source.kept_schema().names)
        job = ScoreJob(self, tuple(c for c in _CONTENT if c in names), passes.batch_size)
        shards = source.shards()
        results = passes.map(score_shard, shards, job, resources=self.config.worker_resources)
        self._scores = {s.part: r for s, r in zip(shards, results)}
        for r in results:
            for key, v in r.counters.items():
                self._counters[key] = self._counters.get(key, 0) + v
        self._verdicts = decide(self.config.decide, self.config.name, self.scorer().outputs, results)
        return self._verdicts.summary  # what every shard task is sent: each shard's verdicts go with it

    def shards(self, source: Any, plan: dict[str, Any]) -> list[Shard]:
        assert self._verdicts is not None, "shards() follows plan() on the driver"
        return [replace(s, unit=(self._scores[s.part], reasons))
                for s, reasons in zip(source.shards(), self._verdicts.per_shard)]

    def process_shard(self, plan: dict[str, Any], shard: ShardInput) -> ShardResults:
        scores, verdicts = shard.shard.unit
        pid = provenance_id(self.provenance())
        own = self.columns()
        row = 0
        for batch in shard.batches():
            table = pa.Table.from_batches([batch])
            n = batch.num_rows
            sl = slice(row, row + n)
            cols = _score_columns(own, scores, sl, pid)
            full = with_columns(table, self.kept_schema(table.schema), cols)
            reasons = verdicts[sl]
            keep = [i for i in range(n) if reasons[i] is None]
            operations = full.column("operations").to_pylist()
            for i in keep:
                if scores.applies[row + i]:
                    operations[i] = [*(operations[i] or []), operation(f"{self.name}.score", self.name, by=pid)]
            full = full.set_column(full.schema.get_field_index("operations"), "operations",
                                   pa.array(operations, full.schema.field("operations").type))
            kept = full.take(pa.array(keep, pa.int64()))
            dropped = [i for i in range(n) if reasons[i] is not None]
            rejected = [reject_row(self.name, reasons[i][0], reasons[i][1], rec)
                        for i, rec in zip(dropped, full.take(pa.array(dropped, pa.int64())).to_pylist())]
            row += n
            yield n, BatchResult(kept, reject_rows(rejected))

    def finish(self, plan: dict[str, Any], out_dir: Path, parts: list[dict[str, Any]]) -> dict[str, int]:
        p = self.provenance()
        write_json_atomic(out_dir / "provenance.json", {provenance_id(p): p})
        write_json_atomic(out_dir / "decision.json", plan)
        counters = dict(self._counters)
        self._scores, self._counters, self._verdicts = {}, {}, None
        return counters


def _score_columns(own: list[tuple[str, pa.DataType]], scores: ShardScores, sl: slice, pid: str) -> dict[str, list]:
    k = scores.values.shape[1]
    applies = scores.applies[sl]
    cols: dict[str, list] = {}
    for j, (name, _) in enumerate(own[:k]):
        cols[name] = [None if math.isnan(v) else float(v) for v in scores.values[sl, j]]
    cols[own[k][0]] = list(scores.failures[sl])
    cols[own[k + 1][0]] = [pid if a else None for a in applies]
    cols[own[k + 2][0]] = [None if math.isnan(m) else iso_minute(m) for m in scores.minutes[sl]]
    return cols

