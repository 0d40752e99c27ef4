"""Dedup's decisions on the driver: pairs within each kind, clusters, each cluster's keeper;
and the side files that record them (clusters.parquet, pairs.parquet).

The near level's pairs arrive verified from the bucket partitions (buckets.py); the exact
level's partitions name the records that share content, linked here by the group rules; the
semantic level searches here, over every embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.dedup.buckets import PartitionPairs
from pipeline.dedup.clusters import Clusters, Membership, cluster, group_unions, without_exempt
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.features import Plan
from pipeline.dedup.levels import Level


def level_pairs(level: Level, plan: Plan, members: Membership, excluded: set[int], found: PartitionPairs | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """The level's verified pairs; near misses go to plan.borderline."""
    if found is not None and level.name == "near":
        pairs, sims = without_exempt(found.pairs, found.sims, members)
        near = without_exempt(found.near_pairs, found.near_sims, members)
        plan.borderline.append(near)
        plan.counters.update({"near:bands": level.bands, "near:rows": level.rows,  # type: ignore[attr-defined]
                              "near:candidate_pairs": found.candidates, "near:verified_pairs": len(pairs)})
        return pairs, sims
    # Exact: the partitions found which rows share content; the group rules link them per kind.
    candidates = None if found is None else np.unique(found.pairs)
    all_pairs, all_sims = [np.zeros((0, 2), np.int64)], [np.zeros(0, np.float32)]
    for kind in sorted(set(plan.kinds.tolist())):
        rows = np.flatnonzero(plan.kinds == kind)
        if candidates is not None:
            rows = np.intersect1d(rows, candidates)
        if excluded:
            rows = rows[~np.isin(rows, list(excluded))]
        if len(rows) < 2:
            continue
        pairs, sims = level.pairs(plan.features[rows], members.subset(rows))
        all_pairs.append(rows[pairs] if len(pairs) else pairs.reshape(0, 2))
        all_sims.append(np.asarray(sims, dtype=np.float32))
        near_pairs, near_sims = level.borderline()
        plan.borderline.append((rows[near_pairs] if len(near_pairs) else near_pairs.reshape(0, 2), near_sims))
    return np.concatenate(all_pairs), np.concatenate(all_sims)


def cluster_internal(level: Level, plan: Plan, members: Membership, ranks: np.ndarray, config: DedupConfig,
                     excluded: set[int], found: PartitionPairs | None = None) -> Clusters:
    """Pairs within each kind (records of different kinds never duplicate each other), then clusters."""
    n = len(plan.ids)
    pairs, sims = level_pairs(level, plan, members, excluded, found)
    borderline = sum(len(p) for p, _ in plan.borderline)
    plan.pairs = (pairs, sims)
    feats = plan.features
    result = cluster(n, pairs, sims, members, ranks, lambda a, b: level.similarity(feats, a, b))
    for a, b in group_unions(result, plan.groups):
        plan.merger.union(plan.group(a), plan.group(b))
    if config.drop:
        for row, d in result.drops.items():
            keeper = plan.id(d.keeper)
            plan.rejects[row] = (level.reason, f"{level.name} duplicate of {keeper} (similarity "
                                 f"{d.similarity:.3f}); matched {plan.id(d.matched)} at {d.matched_similarity:.3f}",
                                 keeper, d.similarity)
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
    keeper_ids = plan.ids.take(pa.array([c.keeper[c.label[r]] for r in rows.tolist()], pa.int64())).to_pylist()
    pq.write_table(pa.table({
        "id": plan.ids.take(pa.array(rows, pa.int64())),
        "cluster": [f"{level.name}-{k[:16]}" for k in keeper_ids],
        "role": role,
        "kept_id": keeper_ids,
        "similarity": pa.array([c.drops[r].similarity if r in c.drops else None for r in rows.tolist()], pa.float64()),
        "dropped": [dropped and r in c.drops for r in rows.tolist()],
    }), out / "clusters.parquet")
    parts = [(*plan.pairs, "duplicate"), *[(p, s, "borderline") for p, s in plan.borderline]]
    both = np.concatenate([np.zeros((0, 2), np.int64), *[p for p, _, _ in parts]])
    pq.write_table(pa.table({
        "id_a": plan.ids.take(pa.array(both[:, 0], pa.int64())),
        "id_b": plan.ids.take(pa.array(both[:, 1], pa.int64())),
        "similarity": pa.array(np.concatenate([np.asarray(s, np.float64) for _, s, _ in parts]).round(4)),
        "decision": [d for p, _, d in parts for _ in range(len(p))],
    }), out / "pairs.parquet")
