"""An augment stage per augmenter: every input record kept, plus the candidates that pass every gate.

Augmenters run one stage each, in the configured order (`augment_<name>`), so each has its own
manifest, rejects and stored output. A stage augments original records only (no parent_id):
outputs of earlier augmenters are never augmented again, but they are in the duplicate index,
count towards a label's balance and towards a parent's `max_per_record`.

Two passes over the input, both in one task (`parallel = False`): the budget and the duplicate
index need the whole dataset, and each decision depends on the candidates kept before it:
  pass 1: label counts (for the budget) and the duplicate index of the whole dataset;
  pass 2: per batch, make candidates (candidates.py), score them (gates.py, checks.py),
      decide, and write the parents, the kept candidates and the rejected ones.
Accounts: in + generated = kept + rejected, where kept = every input record + kept candidates
and every rejected candidate carries its gate as the reason. candidates.parquet holds every
candidate's scores and decision, kept or not.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.augment.budget import Budget
from pipeline.augment.candidates import STAGE, Candidate, generate, make_augmenter
from pipeline.augment.config import AugmentConfig, AugmenterConfig
from pipeline.augment.gates import DuplicateIndex, SimilarityScorer, decide, score_length
from pipeline.augment.report import CANDIDATES
from pipeline.fingerprint import hash_files, hash_json
from pipeline.records import RECORD_COLUMNS
from pipeline.parts import BatchResult
from pipeline.rows import reject_row, reject_rows
from pipeline.stage import Passes, ShardInput, ShardResults, Stage

VERSION = "2"  # 2: sharded output
SCORE_COLUMNS = {
    "length_ratio": pa.float64(), "similarity": pa.float64(), "duplicate": pa.string(),
    "duplicate_of": pa.string(), "duplicate_similarity": pa.float64(), "label_predicted": pa.string(),
    "label_prob": pa.float64(), "label_preserved": pa.bool_(), "parses": pa.bool_(),
    "alpha_equivalent": pa.bool_(), "tests_passed": pa.bool_(), "tests_detail": pa.string(),
    "augment_params": pa.string(),
}
CANDIDATE_SCHEMA = pa.schema([
    ("id", pa.string()), ("parent_id", pa.string()), ("kind", pa.string()), ("augmenter", pa.string()),
    ("method", pa.string()), ("copy", pa.int32()), ("seed", pa.int64()), ("fields", pa.string()),
    *SCORE_COLUMNS.items(), ("decision", pa.string()),
])


def external_fingerprint(config: AugmentConfig) -> dict[str, Any]:
    """The label gate's model is an input too: retraining it must re-run the gate."""
    g = config.gates.label
    if not g.enabled or not g.model:
        return {}
    files = sorted(p for p in Path(g.model).glob("*") if p.is_file() and p.suffix in {".json", ".safetensors"})
    return {"label_model": hash_files(files)}


def stage_name(spec: AugmenterConfig) -> str:
    return f"{STAGE}_{spec.name}"


def stage_config(config: AugmentConfig, spec: AugmenterConfig) -> dict[str, Any]:
    """What shapes this augmenter's output; the other augmenters' settings do not invalidate it."""
    c = config.model_dump(mode="json")
    return {"augmenter": spec.model_dump(mode="json"), "gates": c["gates"], "budget": c["budget"], "seed": c["seed"]}


class AugmentStage(Stage):
    """One augmenter over the kept records of its input."""

    version = VERSION
    parallel = False

    def __init__(self, config: AugmentConfig, spec: AugmenterConfig, cache_dir: str | Path | None = None,
                 workers: int = 1):
        super().__init__(config)
        self.config: AugmentConfig
        self.spec = spec
        self.name = stage_name(spec)
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.workers = workers

    def stage_config(self) -> Any:
        return stage_config(self.config, self.spec)

    def input_fingerprint(self, source: Any) -> str:
        return hash_json({"source": source.fingerprint, **external_fingerprint(self.config)})

    def plan(self, source: Any, passes: Passes) -> list[str]:
        return [str(f) for f in source.kept_files]

    def process_shard(self, files: list[str], shard: ShardInput) -> ShardResults:
        if shard.shard.index == 0:
            self._run = _Run(self.config, self.spec, files, Path(self.cache_dir) if self.cache_dir else None,
                             shard.batch_size, self.workers)
            self._scores = pq.ParquetWriter(shard.out_dir / CANDIDATES, CANDIDATE_SCHEMA, compression="zstd")
        run = self._run
        try:
            for batch in shard.batches():
                schema = batch.schema
                cands = run.candidates(batch.to_pylist())
                kept = [c for c in cands if c.decision == "kept"]
                table = pa.concat_tables([pa.Table.from_batches([batch], schema=schema),
                                          _records_table([c.record for c in kept], schema)])
                rejected = reject_rows([_reject_row(c) for c in cands if c.decision != "kept"])
                self._scores.write_table(_scores_table(cands))
                yield batch.num_rows, BatchResult(table, rejected, run.batch_counters(cands), generated=len(cands))
        except BaseException:
            self._close()
            raise
        if shard.last:
            self._close()
            yield 0, BatchResult(pa.table({}), reject_rows([]), run.final_counters())

    def _close(self) -> None:
        self._scores.close()
        self._run.__exit__(None, None, None)


class _Run:
    """The state of one augment run: augmenters, scorers, the duplicate index and the budget."""

    def __init__(self, config: AugmentConfig, spec: AugmenterConfig, files: list[str], cache_dir: Path | None,
                 batch_size: int, workers: int = 1):
        self.config = config
        self.specs = [spec]
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        gates = config.gates
        labels, originals, children = Counter(), Counter(), Counter()
        self.index = DuplicateIndex(gates.duplicates.near_threshold)
        columns = ["id", "kind", "group_id", "parent_id", "label", "text", "system", "prompt", "response", "code",
                   "language"]
        batches = (b for f in files for b in pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=columns))
        for batch in batches:
            rows = batch.to_pylist()
            for r in rows:
                if r["kind"] == "classification" and r["label"] is not None:
                    labels[r["label"]] += 1
                    originals[r["label"]] += r["parent_id"] is None
                if r["parent_id"] is not None:
                    children[r["parent_id"]] += 1
            if gates.duplicates.enabled:
                self.index.add_existing(rows)
        self.index.freeze()
        self.budget = Budget(config.budget, labels, originals, children)
        self.augmenters = {s.name: make_augmenter(s) for s in self.specs}
        self.timings: Counter = Counter()
        for name, a in self.augmenters.items():
            t0 = time.perf_counter()
            a.setup()
            self.timings[f"setup:{name}"] += time.perf_counter() - t0
        text_kinds = {k for s in self.specs for k in (s.kinds or []) if k != "code"}
        wants_sim = gates.similarity.enabled and text_kinds & set(gates.similarity.kinds)
        self.similarity = SimilarityScorer(gates, cache_dir) if wants_sim else None
        self.labels = None
        if gates.label.enabled:
            from pipeline.augment.checks import LabelPredictor

            self.labels = LabelPredictor(gates.label)
        self.code_counters: Counter = Counter()

    def candidates(self, rows: list[dict[str, Any]]) -> list[Candidate]:
        t0 = time.perf_counter()
        if self.pool is None and self.workers > 1 and any(getattr(a, "per_record", False)
                                                          for a in self.augmenters.values()):
            # spawn, not fork: see pipeline/stage.py (threaded callers, held locks).
            self.pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"))
        originals = [r for r in rows if r["parent_id"] is None]
        cands = generate(originals, self.specs, self.augmenters, self.budget.copies_for, self.config.seed, self.pool)
        self.timings["generate"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        score_length(cands, self.config.gates.length_ratio.kinds)
        if self.similarity is not None:
            self.similarity.score(cands)
        if any(c.parent["kind"] == "code" for c in cands):
            from pipeline.augment.checks import score_code

            self.code_counters.update(score_code(cands, self.config.gates.code))
        if self.labels is not None:
            from pipeline.augment.checks import score_labels

            score_labels(cands, self.labels)
        self.index.score(cands)
        self.timings["gates"] += time.perf_counter() - t0
        for c in cands:
            c.decision = decide(c, self.config.gates)
            if c.decision == "kept":
                c.decision = self.budget.admit(c.parent) or "kept"
            if c.decision == "kept":
                self.index.add_kept(c)
        return cands

    def __enter__(self) -> "_Run":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def batch_counters(self, cands: list[Candidate]) -> dict[str, int]:
        out: Counter = Counter()
        for c in cands:
            out["generated"] += 1
            out["kept_generated"] += c.decision == "kept"
        return dict(out)

    def final_counters(self) -> dict[str, int]:
        out = {**self.budget.counters(), **self.code_counters}
        if self.similarity is not None:
            out.update(self.similarity.counters)
        out.update({f"ms:{k}": int(v * 1000) for k, v in self.timings.items()})
        return out


def _records_table(records: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    # Columns added by earlier stages (cleaning's scores) describe the parent's text, not the
    # candidate's: they are left empty rather than copied.
    rows = [{name: (r.get(name) if name in RECORD_COLUMNS else None) for name in schema.names} for r in records]
    return pa.Table.from_pylist(rows, schema=schema)


def _reject_row(c: Candidate) -> dict[str, Any]:
    rec = c.record or {**c.parent, "parent_id": c.parent["id"], "id": None}
    detail = f"{c.spec.name} candidate {c.copy} of {c.parent['id']}: {c.decision}"
    scores = {k: v for k, v in c.scores.items() if k != "augment_params"}
    if scores:
        detail += " " + json.dumps(scores, sort_keys=True, default=str)
    return reject_row(STAGE, c.decision, detail, {**c.parent, "id": rec.get("id")},
                      duplicate_of=c.scores.get("duplicate_of"), similarity=c.scores.get("duplicate_similarity"),
                      record={k: rec.get(k) for k in RECORD_COLUMNS})


def _scores_table(cands: list[Candidate]) -> pa.Table:
    rows = [{"id": c.record["id"] if c.record else None, "parent_id": c.parent["id"], "kind": c.parent["kind"],
             "augmenter": c.spec.name, "method": c.method, "copy": c.copy, "seed": c.seed,
             "fields": ",".join(c.fields), **{k: c.scores.get(k) for k in SCORE_COLUMNS}, "decision": c.decision}
            for c in cands]
    return pa.Table.from_pylist(rows, schema=CANDIDATE_SCHEMA)
