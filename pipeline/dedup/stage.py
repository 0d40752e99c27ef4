"""A dedup level as a stage: one stage per level (dedup_exact, dedup_near, dedup_semantic).

Three passes, because whether a record is kept depends on records after it:
  pass 1 (plan): every shard's features on the workers (hashes, MinHash signatures, embeddings,
      the latter on whatever device a worker has), written to the stage's scratch folder with
      each shard's bucket keys (features.py); copies of reference-set records (decontamination)
      and of earlier datasets (`against`) dropped; for exact and near, one task per bucket key
      partition pairs the records that share a key and verifies the pairs (buckets.py); the
      semantic level searches its neighbours on the driver; then, on the driver, which needs
      the whole picture: the pairs clustered and each cluster's keeper chosen (decisions.py,
      clusters.py);
  pass 2 (shards): each shard re-read on a worker (with its own rows' decisions only) and
      written as a part: kept records, with the groups of every cluster joined so the split
      keeps a cluster together, and rejected ones naming what they duplicate;
  pass 3 (finish): clusters.parquet (every clustered record and its role), pairs.parquet
      (verified pairs, and near misses for review) and index/ (features of the kept records,
      for incremental runs).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.dedup.buckets import PairJob, join_partitions, partition_pairs, partitions_for
from pipeline.dedup.clusters import Membership
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.decisions import cluster_internal, write_decisions
from pipeline.dedup.external import External, external_fingerprints, match_external
from pipeline.dedup.features import (FeatureJob, Plan, Reject, factorize, merge_features, merge_ranks,
                                     shard_features)
from pipeline.dedup.index import write_index
from pipeline.dedup.keep import keep_ranks, rank_columns
from pipeline.dedup.levels import make_level, release_levels
from pipeline.fingerprint import hash_json
from pipeline.parts import BatchResult, Shard
from pipeline.records import operation
from pipeline.rows import reject_row, reject_rows, with_columns
from pipeline.similarity import GroupMerger
from pipeline.stage import Passes, ShardInput, ShardResults, Stage

log = logging.getLogger(__name__)
_CONTENT = ("text", "label", "system", "prompt", "response", "code", "language")


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
class Decisions:
    """What every shard task needs of the plan (each shard's rejects travel with the shard)."""

    merger: GroupMerger


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
        level = make_level(self.level, config, Path(self.cache_dir) if self.cache_dir else None)
        partitions = self._partitions(level, source)
        job = FeatureJob(self.level, config, self.cache_dir, columns, passes.batch_size, str(passes.work_dir),
                         partitions)
        # Embeddings go to the workers that offer the configured resources (a GPU), if any.
        resources = config.semantic.worker_resources if self.level == "semantic" else {}
        t0 = time.perf_counter()
        shards = passes.map(shard_features, source.shards(), job, resources=resources)
        t1 = time.perf_counter()
        self._plan = plan = merge_features(shards, stack=not partitions)
        external: External = match_external(level, plan.features, plan.kinds, config, plan.sets)
        plan.rejects.update(external.rejects)
        plan.counters.update(external.counters)
        found = None
        t2 = time.perf_counter()
        if partitions:
            excluded = np.sort(np.fromiter(plan.rejects, dtype=np.int64, count=len(plan.rejects)))
            pair_job = PairJob(self.level, config, tuple(s.buckets for s in shards if s.buckets is not None),
                               plan.features, excluded, plan.sets)
            found = join_partitions(passes.map(partition_pairs, range(partitions), pair_job), len(plan.ids))
        t3 = time.perf_counter()
        id_codes, _ = factorize(plan.ids)
        members = Membership(plan.groups, id_codes, config.compare_within_group)
        ranks = keep_ranks(merge_ranks([s.ranks for s in shards], config.quality_column), config.keep)
        plan.clusters = cluster_internal(level, plan, members, ranks, config, set(plan.rejects), found)
        log.info("%s plan: features %.1f s (workers), references %.1f s, %d bucket partition(s) %.1f s (workers),"
                 " pairs and clusters %.1f s (driver)", self.name, t1 - t0, t2 - t1, partitions, t3 - t2,
                 time.perf_counter() - t3)
        for k, v in level.counters().items():
            plan.counters[k] = plan.counters.get(k, 0) + v
        return Decisions(plan.merger)

    def _partitions(self, level: Any, source: Any) -> int:
        """Key partitions for the bucket shuffle (0: the level searches on the driver)."""
        if self.level == "semantic":
            return 0
        keys_per_row = 1 if self.level == "exact" else level.bands
        return partitions_for(keys_per_row * sum(s.rows for s in source.shards()))

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
        take = pa.array(kept_rows, pa.int64())
        write_index(out_dir, level.name, level.params(), full.ids.take(take), full.kinds[kept_rows].tolist(),
                    full.group_names.take(pa.array(full.groups[kept_rows], pa.int64())), full.features, kept_rows,
                    sets=full.sets)
        self._plan = None
        release_levels()
        return dict(full.counters)
