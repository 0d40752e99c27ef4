"""An augment stage per augmenter: every input record kept, plus the candidates that pass every gate.

Augmenters run one stage each, in the configured order (`augment_<name>`), so each has its own
manifest, rejects and stored output. A stage augments original records only (no parent_id):
outputs of earlier augmenters are never augmented again, but they are in the duplicate index,
count towards a label's balance and towards a parent's `max_per_record`.

Passes:
  plan: label counts (the budget's copies per record, on the driver); then every shard's
      candidates made on the executor's workers (candidates.py: the expensive part, renaming
      with libcst, back-translation), written to the stage's scratch folder;
  shards, in order, in one task (`parallel = False`): the duplicate index of the whole dataset,
      then per batch the candidates scored (gates.py, checks.py) and decided, and the parents,
      the kept candidates and the rejected ones written: each decision depends on the
      candidates kept before it (the duplicate index, the budget's caps).
Accounts: in + generated = kept + rejected, where kept = every input record + kept candidates
and every rejected candidate carries its gate as the reason. candidates.parquet holds every
candidate's scores and decision, kept or not.
"""

from __future__ import annotations

import json
import pickle
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.augment.budget import Budget
from pipeline.augment.candidates import STAGE, Candidate, generate, make_augmenter
from pipeline.augment.config import AugmentConfig, AugmenterConfig
from pipeline.augment.gates import DuplicateIndex, SimilarityScorer, decide, score_length
from pipeline.augment.report import CANDIDATES
from pipeline.atomic import write_atomic
from pipeline.fingerprint import hash_files, hash_json
from pipeline.records import RECORD_COLUMNS
from pipeline.parts import BatchResult, Shard
from pipeline.rows import reject_row, reject_rows
from pipeline.stage import Passes, ShardInput, ShardResults, Stage

VERSION = "2"  # 2: sharded output
SCORE_COLUMNS = {
    "length_ratio": pa.float64(), "similarity": pa.float64(), "duplicate": pa.string(),
    "duplicate_of": pa.string(), "duplicate_similarity": pa.float64(), "label_predicted": pa.string(),
    "label_prob": pa.float64(), "label_preserved": pa.bool_(), "parses": pa.bool_(),
    "alpha_equivalent": pa.bool_(), "equivalent": pa.bool_(), "tests_passed": pa.bool_(), "tests_detail": pa.string(),
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


@dataclass
class AugmentPlan:
    budget: Budget
    candidate_files: list[str]  # per shard: its candidates, a list per batch (pickled)
    files: list[str]  # the input's parts, for the duplicate index
    counters: dict[str, int]


@dataclass(frozen=True)
class GenerateJob:
    config: AugmentConfig
    spec: AugmenterConfig
    budget: Budget
    batch_size: int
    work_dir: str


# One set-up augmenter per worker process and augmenter settings (WordNet, Apertium, models).
_augmenters: dict[str, Any] = {}


def generate_shard(job: GenerateJob, shard: Shard) -> tuple[str, dict[str, int]]:
    """On a worker: one shard's candidates, a list per batch of the shard's records (the shard
    pass reads its batches the same way), pickled to the scratch folder; returns (file, timings)."""
    timings: Counter = Counter()
    key = hash_json(job.spec)
    augmenter = _augmenters.get(key)
    if augmenter is None:
        t0 = time.perf_counter()
        augmenter = _augmenters[key] = make_augmenter(job.spec)
        augmenter.setup()
        timings[f"ms:setup:{job.spec.name}"] += int(1000 * (time.perf_counter() - t0))
    t0 = time.perf_counter()
    per_batch = []
    for batch in ShardInput(shard, Path("."), job.batch_size).batches():
        originals = [r for r in batch.to_pylist() if r["parent_id"] is None]
        per_batch.append(generate(originals, [job.spec], {job.spec.name: augmenter}, job.budget.copies_for,
                                  job.config.seed))
    timings["ms:generate"] += int(1000 * (time.perf_counter() - t0))
    path = write_atomic(Path(job.work_dir) / f"candidates-{shard.part}.pkl",
                        lambda tmp: tmp.write_bytes(pickle.dumps(per_batch, protocol=pickle.HIGHEST_PROTOCOL)),
                        make_parents=False)
    return str(path), dict(timings)


class AugmentStage(Stage):
    """One augmenter over the kept records of its input."""

    version = VERSION
    parallel = False

    def __init__(self, config: AugmentConfig, spec: AugmenterConfig, cache_dir: str | Path | None = None):
        super().__init__(config)
        self.config: AugmentConfig
        self.spec = spec
        self.name = stage_name(spec)
        self.cache_dir = None if cache_dir is None else str(cache_dir)

    def stage_config(self) -> Any:
        return stage_config(self.config, self.spec)

    def input_fingerprint(self, source: Any) -> str:
        return hash_json({"source": source.fingerprint, **external_fingerprint(self.config)})

    def plan(self, source: Any, passes: Passes) -> AugmentPlan:
        budget = _budget(self.config, source, passes.batch_size)
        passes.work_dir.mkdir(parents=True, exist_ok=True)
        job = GenerateJob(self.config, self.spec, budget, passes.batch_size, str(passes.work_dir))
        made = passes.map(generate_shard, source.shards(), job)
        counters: Counter = Counter()
        for _, timings in made:
            counters.update(timings)
        return AugmentPlan(budget, [f for f, _ in made], [str(f) for f in source.kept_files], dict(counters))

    def process_shard(self, plan: AugmentPlan, shard: ShardInput) -> ShardResults:
        if shard.shard.index == 0:
            self._run = _Run(self.config, self.spec, plan, Path(self.cache_dir) if self.cache_dir else None,
                             shard.batch_size)
            self._scores = pq.ParquetWriter(shard.out_dir / CANDIDATES, CANDIDATE_SCHEMA, compression="zstd")
        run = self._run
        try:
            made = pickle.loads(Path(plan.candidate_files[shard.shard.index]).read_bytes()) if plan.candidate_files \
                else []
            for batch, cands in zip(shard.batches(), made, strict=True):
                schema = batch.schema
                run.decide(cands)
                kept = [c for c in cands if c.decision == "kept"]
                table = pa.concat_tables([pa.Table.from_batches([batch], schema=schema),
                                          _records_table([c.record for c in kept], schema)])
                rejected = reject_rows([_reject_row(c) for c in cands if c.decision != "kept"])
                self._scores.write_table(_scores_table(cands))
                yield batch.num_rows, BatchResult(table, rejected, run.batch_counters(cands), generated=len(cands))
        except BaseException:
            self._scores.close()
            raise
        if shard.last:
            self._scores.close()
            yield 0, BatchResult(pa.table({}), reject_rows([]), {**plan.counters, **run.final_counters()})


def _budget(config: AugmentConfig, source: Any, batch_size: int) -> Budget:
    """The budget from the whole input's label counts (how many copies each record gets)."""
    labels, originals, children = Counter(), Counter(), Counter()
    for batch in source.iter_batches(batch_size, ["kind", "label", "parent_id"]):
        for r in batch.to_pylist():
            if r["kind"] == "classification" and r["label"] is not None:
                labels[r["label"]] += 1
                originals[r["label"]] += r["parent_id"] is None
            if r["parent_id"] is not None:
                children[r["parent_id"]] += 1
    return Budget(config.budget, labels, originals, children)


class _Run:
    """The state of one augment run's decisions: scorers, the duplicate index and the budget."""

    def __init__(self, config: AugmentConfig, spec: AugmenterConfig, plan: AugmentPlan, cache_dir: Path | None,
                 batch_size: int):
        self.config = config
        gates = config.gates
        self.index = DuplicateIndex(gates.duplicates.near_threshold)
        if gates.duplicates.enabled:
            columns = ["id", "kind", "group_id", "parent_id", "label", "text", "system", "prompt", "response",
                       "code", "language"]
            for f in plan.files:
                for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=columns):
                    self.index.add_existing(batch.to_pylist())
        self.index.freeze()
        self.budget = plan.budget
        self.timings: Counter = Counter()
        text_kinds = {k for k in (spec.kinds or []) if k != "code"}
        wants_sim = gates.similarity.enabled and text_kinds & set(gates.similarity.kinds)
        self.similarity = SimilarityScorer(gates, cache_dir) if wants_sim else None
        self.labels = None
        if gates.label.enabled:
            from pipeline.augment.checks import LabelPredictor

            self.labels = LabelPredictor(gates.label)
        self.code_counters: Counter = Counter()

    def decide(self, cands: list[Candidate]) -> None:
        """Score one batch's candidates and decide each, in order."""
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
