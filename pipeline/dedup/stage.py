"""A dedup level as a stage: one stage per level (dedup_exact, dedup_near, dedup_semantic).

Three passes, because whether a record is kept depends on records after it:
  pass 1 (plan): every shard's features on the workers (hashes, MinHash signatures, embeddings,
      the latter on whatever device a worker has), written to the stage's scratch folder and
      memory-mapped by the driver; then, on the driver, which needs the whole picture: copies of reference-set records (decontamination) and of earlier datasets
      (`against`) dropped, the rest paired within each record kind, the pairs clustered and
      each cluster's keeper chosen (clusters.py);
  pass 2 (shards): each shard re-read on a worker (with its own rows' decisions only) and
      written as a part: kept records, with
      the groups of every cluster joined so the split keeps a cluster together, and rejected
      ones naming what they duplicate;
  pass 3 (finish): clusters.parquet (every clustered record and its role), pairs.parquet
      (verified pairs, and near misses for review) and index/ (features of the kept records,
      for incremental runs).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.atomic import save_npy_atomic
from pipeline.dedup.clusters import Clusters, Membership, cluster, group_unions
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.external import External, external_fingerprints, match_external
from pipeline.dedup.index import write_index
from pipeline.dedup.keep import RankInputs, keep_ranks, rank_columns
from pipeline.dedup.levels import Level, make_level
from pipeline.fingerprint import hash_json
from pipeline.parts import BatchResult, Shard
from pipeline.records import operation
from pipeline.rows import reject_row, reject_rows, with_columns
from pipeline.similarity import GroupMerger, compared_text, content_key
from pipeline.stage import Passes, ShardInput, ShardResults, Stage

log = logging.getLogger(__name__)
_CONTENT = ("text", "label", "system", "prompt", "response", "code", "language")
Reject = tuple[str, str, str, float]  # reason, detail, duplicate_of, similarity


def stage_name(level: str) -> str:
    return f"dedup_{level}"


def level_config(config: DedupConfig, level: str) -> dict[str, Any]:
    """The settings that shape this level's output; other levels' settings do not invalidate it."""
    c = config.model_dump(mode="json")
    shared = {k: c[k] for k in ("fields", "keep", "quality_column", "compare_within_group", "drop",
                                "borderline_margin", "reference_sets", "against")}
    # Where embeddings are computed does not change them: placement is not part of the key.
    own = {k: v for k, v in c[level].items() if k != "worker_resources"}
    return {"level": level, **shared, level: own}


@dataclass
class Plan:
    ids: list[str]
    kinds: np.ndarray
    groups: np.ndarray  # group code per row
    group_names: list[str]
    features: np.ndarray
    rejects: dict[int, Reject] = field(default_factory=dict)  # row -> reason, detail, of, sim
    clusters: Clusters | None = None
    pairs: tuple[np.ndarray, np.ndarray] | None = None  # verified pairs and their similarities
    borderline: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # near misses, per kind
    merger: GroupMerger = field(default_factory=GroupMerger)
    counters: dict[str, int] = field(default_factory=dict)


@dataclass
class Decisions:
    """What every shard task needs of the plan (each shard's rejects travel with the shard)."""

    merger: GroupMerger


@dataclass
class ShardFeatures:
    ranks: RankInputs
    kinds: list[str]
    groups: list[str]
    features: str | None  # the .npy file of the shard's features (None: no records)
    counters: dict[str, int]


@dataclass(frozen=True)
class FeatureJob:
    level: str
    config: DedupConfig
    cache_dir: str | None
    columns: tuple[str, ...]
    batch_size: int
    work_dir: str


# One level object per worker process and settings: a semantic level holds its model.
_levels: dict[str, Level] = {}


def shard_features(job: FeatureJob, shard: Shard) -> ShardFeatures:
    """Pass 1 on a worker: the features and rank inputs of one shard's records."""
    key = hash_json([job.level, job.config, job.cache_dir])
    level = _levels.get(key)
    if level is None:
        level = _levels[key] = make_level(job.level, job.config, Path(job.cache_dir) if job.cache_dir else None)
    before = level.counters()
    config = job.config
    ranks, kinds, groups, feats = RankInputs(config.quality_column), [], [], []
    for batch in ShardInput(shard, Path("."), job.batch_size).batches(job.columns):
        rows = batch.to_pylist()
        # Records of kinds the level does not compare get no content: never paired, always kept.
        texts = [compared_text(r, config.compared_fields(r["kind"])) if config.compares(level.name, r["kind"])
                 else None for r in rows]
        keys = [None if t is None else content_key(r["kind"], t) for r, t in zip(rows, texts)]
        feats.append(level.features(texts, keys))
        ranks.add(rows)
        kinds += [r["kind"] for r in rows]
        groups += [r["group_id"] for r in rows]
    after = level.counters()
    counters = {k: v - before.get(k, 0) for k, v in after.items()}
    path = None
    if feats:
        # Written beside the stage, not returned: the driver memory-maps every shard's rows.
        path = save_npy_atomic(Path(job.work_dir) / f"features-{shard.part}.npy", np.concatenate(feats))
    return ShardFeatures(ranks, kinds, groups, None if path is None else str(path), counters)


class DedupStage(Stage):
    """One dedup level (`exact`, `near` or `semantic`) over the kept records of its input."""

    version = "2"  # 2: sharded passes

    def __init__(self, level: str, config: DedupConfig, cache_dir: str | Path | None = None):
        super().__init__(config)
        self.config: DedupConfig
        self.level = level
        self.name = stage_name(level)
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self._plan: Plan | None = None

    def stage_config(self) -> Any:
        return level_config(self.config, self.level)

    def input_fingerprint(self, source: Any) -> str:
        return hash_json({"source": source.fingerprint, **external_fingerprints(self.config, self.level)})

    def plan(self, source: Any, passes: Passes) -> Decisions:
        config = self.config
        names = set(source.kept_schema().names)
        columns = tuple(c for c in dict.fromkeys(("id", "kind", "group_id", *_CONTENT,
                                                  *rank_columns(config.quality_column))) if c in names)
        passes.work_dir.mkdir(parents=True, exist_ok=True)
        job = FeatureJob(self.level, config, self.cache_dir, columns, passes.batch_size, str(passes.work_dir))
        # Embeddings go to the workers that offer the configured resources (a GPU), if any.
        resources = config.semantic.worker_resources if self.level == "semantic" else {}
        t0 = time.perf_counter()
        shards = passes.map(shard_features, source.shards(), job, resources=resources)
        t1 = time.perf_counter()
        level = make_level(self.level, config, Path(self.cache_dir) if self.cache_dir else None)
        self._plan = plan = _merge_features(shards, passes.work_dir / "features.npy")
        t2 = time.perf_counter()
        external: External = match_external(level, plan.features, plan.kinds, config)
        plan.rejects.update(external.rejects)
        plan.counters.update(external.counters)
        id_codes, _ = _factorize(plan.ids)
        members = Membership(plan.groups, id_codes, config.compare_within_group)
        ranks = keep_ranks(_merge_ranks([s.ranks for s in shards], config.quality_column), config.keep)
        plan.clusters = cluster_internal(level, plan, members, ranks, config, set(plan.rejects))
        log.info("%s plan: features %.1f s (workers), merged %.1f s, pairs and clusters %.1f s (driver)",
                 self.name, t1 - t0, t2 - t1, time.perf_counter() - t2)
        for k, v in level.counters().items():
            plan.counters[k] = plan.counters.get(k, 0) + v
        return Decisions(plan.merger)

    def shards(self, source: Any, plan: Decisions) -> list[Shard]:
        """The input's parts, each carrying the rejects of its own rows (numbered within the shard)."""
        rejects = self._plan.rejects if self._plan is not None else {}
        rows = np.sort(np.fromiter(rejects, dtype=np.int64, count=len(rejects)))
        out = []
        for s in source.shards():
            lo, hi = np.searchsorted(rows, [s.row_offset, s.row_offset + s.rows])
            out.append(replace(s, unit={int(r) - s.row_offset: rejects[int(r)] for r in rows[lo:hi]}))
        return out

    def process_shard(self, plan: Decisions, shard: ShardInput) -> ShardResults:
        """Pass 2: kept records (groups joined) and rejected ones."""
        rejects: dict[int, Reject] = shard.shard.unit
        row = 0
        for batch in shard.batches():
            table = pa.Table.from_batches([batch])
            groups = table.column("group_id").to_pylist()
            operations = table.column("operations").to_pylist()
            keep_idx, rejected = [], []
            for i in range(batch.num_rows):
                reject = rejects.get(row + i)
                if reject is not None:
                    rec = table.slice(i, 1).to_pylist()[0]
                    reason, detail, duplicate_of, similarity = reject
                    rejected.append(reject_row(self.name, reason, detail, rec, duplicate_of=duplicate_of,
                                               similarity=round(float(similarity), 4)))
                    continue
                merged = plan.merger.find(groups[i])
                if merged != groups[i]:
                    op = operation(f"{self.name}.merge_group", self.name, merged_into=merged,
                                   previous_group=groups[i])
                    operations[i] = [*(operations[i] or []), op]
                    groups[i] = merged
                keep_idx.append(i)
            row += batch.num_rows
            kept = table.take(pa.array(keep_idx, type=pa.int64()))
            replaced = {"group_id": [groups[i] for i in keep_idx], "operations": [operations[i] for i in keep_idx]}
            yield batch.num_rows, BatchResult(with_columns(kept, table.schema, replaced), reject_rows(rejected))

    def finish(self, plan: Decisions, out_dir: Path, parts: list[dict[str, Any]]) -> dict[str, int]:
        full = self._plan
        assert full is not None, "finish runs on the driver that planned"
        level = make_level(self.level, self.config, Path(self.cache_dir) if self.cache_dir else None)
        write_decisions(out_dir, level, full, self.config.drop)
        kept_rows = np.setdiff1d(np.arange(len(full.ids), dtype=np.int64),
                                 np.fromiter(full.rejects, dtype=np.int64, count=len(full.rejects)))
        write_index(out_dir, level.name, level.params(), [full.ids[i] for i in kept_rows],
                    full.kinds[kept_rows].tolist(), [full.group_names[full.groups[i]] for i in kept_rows],
                    full.features, kept_rows)
        self._plan = None  # the memory map's file goes with the stage's scratch folder
        return dict(full.counters)


def _factorize(values: list[str]) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    codes, names = pd.factorize(pd.Series(values, dtype=object))
    return codes.astype(np.int64), list(names)


def _merge_ranks(parts: list[RankInputs], quality_column: str | None) -> RankInputs:
    out = RankInputs(quality_column)
    for p in parts:
        out.ids += p.ids
        out.annotated += p.annotated
        out.quality += p.quality
        out.length += p.length
    return out


def _merge_features(shards: list[ShardFeatures], path: Path) -> Plan:
    """The shards' features in input order (row i of the plan is record i of the input), in one
    memory-mapped file: the driver pages in what it compares, it does not hold every row."""
    ids = [i for s in shards for i in s.ranks.ids]
    kinds = [k for s in shards for k in s.kinds]
    codes, group_names = _factorize([g for s in shards for g in s.groups])
    counters: dict[str, int] = {}
    for s in shards:
        for k, v in s.counters.items():
            counters[k] = counters.get(k, 0) + v
    return Plan(ids, np.asarray(kinds, dtype=object), codes, group_names,
                _concatenate_on_disk([s.features for s in shards if s.features], path), counters=counters)


def _concatenate_on_disk(files: list[str], path: Path, chunk_rows: int = 1 << 16) -> np.ndarray:
    """The arrays of `files` stacked into one .npy at `path`, copied a chunk at a time; the
    shard files are removed. Returned as a read-only memory map."""
    if not files:
        return np.zeros((0, 1))
    parts = [np.load(f, mmap_mode="r") for f in files]
    total = sum(len(p) for p in parts)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=parts[0].dtype, shape=(total, *parts[0].shape[1:]))
    row = 0
    for p, f in zip(parts, files):
        for lo in range(0, len(p), chunk_rows):
            block = p[lo: lo + chunk_rows]
            out[row: row + len(block)] = block
            row += len(block)
        Path(f).unlink()
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def cluster_internal(level: Level, plan: Plan, members: Membership, ranks: np.ndarray, config: DedupConfig,
                     excluded: set[int]) -> Clusters:
    """Pairs within each kind (records of different kinds never duplicate each other), then clusters."""
    n = len(plan.ids)
    all_pairs, all_sims = [np.zeros((0, 2), np.int64)], [np.zeros(0, np.float32)]
    borderline = 0
    for kind in sorted(set(plan.kinds.tolist())):
        rows = np.flatnonzero(plan.kinds == kind)
        if excluded:
            rows = rows[~np.isin(rows, list(excluded))]
        if len(rows) < 2:
            continue
        pairs, sims = level.pairs(plan.features[rows], members.subset(rows))
        all_pairs.append(rows[pairs] if len(pairs) else pairs.reshape(0, 2))
        all_sims.append(np.asarray(sims, dtype=np.float32))
        near_pairs, near_sims = level.borderline()
        borderline += len(near_pairs)
        plan.borderline.append((rows[near_pairs] if len(near_pairs) else near_pairs.reshape(0, 2), near_sims))
    pairs, sims = np.concatenate(all_pairs), np.concatenate(all_sims)
    plan.pairs = (pairs, sims)
    feats = plan.features
    result = cluster(n, pairs, sims, members, ranks, lambda a, b: level.similarity(feats, a, b))
    for a, b in group_unions(result, plan.groups):
        plan.merger.union(plan.group_names[a], plan.group_names[b])
    if config.drop:
        for row, d in result.drops.items():
            plan.rejects[row] = (level.reason, f"{level.name} duplicate of {plan.ids[d.keeper]} (similarity "
                                 f"{d.similarity:.3f}); matched {plan.ids[d.matched]} at {d.matched_similarity:.3f}",
                                 plan.ids[d.keeper], d.similarity)
    plan.counters.update({"dedup:clusters": result.count, "dedup:duplicates": len(result.drops),
                          "dedup:family_kept": len(result.family), "dedup:pairs": len(pairs),
                          "dedup:borderline_pairs": borderline, "groups:merged": plan.merger.merged_groups})
    return result


def write_decisions(out: Path, level: Level, plan: Plan, dropped: bool) -> None:
    """clusters.parquet (each clustered record's role) and pairs.parquet (verified and borderline pairs)."""
    c = plan.clusters
    assert c is not None and plan.pairs is not None
    rows = np.flatnonzero(c.label >= 0)
    family = set(c.family)
    # keep: the cluster's chosen record; family: of the keeper's group, so not its duplicate;
    # duplicate: dropped (or, with drop off, kept but grouped with the keeper).
    role = ["keep" if c.keeper[c.label[r]] == r else "family" if r in family else "duplicate" for r in rows.tolist()]
    keeper_ids = [plan.ids[c.keeper[c.label[r]]] for r in rows.tolist()]
    pq.write_table(pa.table({
        "id": [plan.ids[r] for r in rows.tolist()],
        "cluster": [f"{level.name}-{k[:16]}" for k in keeper_ids],
        "role": role,
        "kept_id": keeper_ids,
        "similarity": pa.array([c.drops[r].similarity if r in c.drops else None for r in rows.tolist()], pa.float64()),
        "dropped": [dropped and r in c.drops for r in rows.tolist()],
    }), out / "clusters.parquet")
    parts = [(*plan.pairs, "duplicate"), *[(p, s, "borderline") for p, s in plan.borderline]]
    ids = np.asarray(plan.ids, dtype=object)
    pq.write_table(pa.table({
        "id_a": np.concatenate([ids[p[:, 0]] for p, _, _ in parts]).tolist() if plan.ids else [],
        "id_b": np.concatenate([ids[p[:, 1]] for p, _, _ in parts]).tolist() if plan.ids else [],
        "similarity": pa.array(np.concatenate([np.asarray(s, np.float64) for _, s, _ in parts]).round(4)),
        "decision": [d for p, _, d in parts for _ in range(len(p))],
    }), out / "pairs.parquet")
