"""Dedup's decisions on the driver: pairs within each kind, clusters, each cluster's keeper;
and the side files that record them (clusters.parquet, pairs.parquet).

The near level's pairs arrive verified from the bucket partitions (buckets.py); the exact
level's partitions name the records that share content, linked here by the group rules; the
semantic level searches here, over every embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.dedup.buckets import PartitionPairs
from pipeline.dedup.clusters import Clusters, Membership, cluster, group_unions
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.features import Plan
from pipeline.dedup.level_base import Level


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan, np.float32)


def _may_duplicate(pairs: np.ndarray, members: Membership) -> np.ndarray:
    return ~members.exempt(pairs[:, 0], pairs[:, 1]) if len(pairs) else np.zeros(0, bool)


def level_pairs(level: Level, plan: Plan, members: Membership, excluded: set[int], found: PartitionPairs | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The level's verified pairs, their similarities and (near) MinHash estimates; near misses
    go to plan.borderline."""
    if found is not None and not level.relinks:
        ok, near_ok = _may_duplicate(found.pairs, members), _may_duplicate(found.near_pairs, members)
        pairs, sims, est = found.pairs[ok], found.sims[ok], found.estimates[ok]
        plan.borderline.append((found.near_pairs[near_ok], found.near_sims[near_ok], found.near_estimates[near_ok]))
        plan.counters.update({"near:bands": level.bands, "near:rows": level.rows,  # type: ignore[attr-defined]
                              "near:candidate_pairs": found.candidates, "near:verified_pairs": len(pairs)})
        for k, v in found.counters.items():
            plan.counters[k] = plan.counters.get(k, 0) + v
        return pairs, sims, est
    # Exact: the partitions found which rows share content; the level's group rules link them per kind.
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
        plan.borderline.append((rows[near_pairs] if len(near_pairs) else near_pairs.reshape(0, 2), near_sims,
                                _nan(len(near_pairs))))
    pairs = np.concatenate(all_pairs)
    return pairs, np.concatenate(all_sims), _nan(len(pairs))


def cluster_internal(level: Level, plan: Plan, members: Membership, ranks: np.ndarray, config: DedupConfig,
                     excluded: set[int], found: PartitionPairs | None = None) -> Clusters:
    """Pairs within each kind (records of different kinds never duplicate each other), then clusters."""
    n = len(plan.ids)
    pairs, sims, estimates = level_pairs(level, plan, members, excluded, found)
    borderline = sum(len(p) for p, _, _ in plan.borderline)
    plan.pairs = (pairs, sims, estimates)
    feats = plan.features
    result = cluster(n, pairs, sims, members, ranks, lambda a, b: level.similarity(feats, a, b),
                     direct=level.name != "exact")
    for a, b in group_unions(result, plan.groups):
        plan.merger.union(plan.group(a), plan.group(b))
    if config.drop:
        for row, d in result.drops.items():
            keeper = plan.id(d.keeper)
            detail = f"{level.name} duplicate of {keeper} (similarity {d.similarity:.3f})"
            if d.matched != d.keeper:
                detail += f"; matched {plan.id(d.matched)} at {d.matched_similarity:.3f}"
            plan.rejects[row] = (level.reason, detail, keeper, d.similarity)
    # The same record read twice (an identical line of one file) is a duplicate of itself: dropped,
    # counted, and left out of pairs.parquet, which lists pairs of two records.
    repeated = int((members.ids[pairs[:, 0]] == members.ids[pairs[:, 1]]).sum()) if len(pairs) else 0
    plan.counters.update({"dedup:repeated_records": repeated,
                          "dedup:clusters": result.count, "dedup:duplicates": len(result.drops),
                          "dedup:family_kept": len(result.family), "dedup:pairs": len(pairs),
                          "dedup:borderline_pairs": borderline, "groups:merged": plan.merger.merged_groups})
    return result


def write_decisions(out: Path, level: Level, plan: Plan, dropped: bool) -> None:
    """clusters.parquet (each clustered record's role) and pairs.parquet (verified and borderline pairs)."""
    c = plan.clusters
    assert c is not None and plan.pairs is not None
    rows = np.flatnonzero(c.label >= 0)
    family = set(c.family)
    # keep: the cluster's chosen record; duplicate: dropped (or, with drop off, kept but grouped
    # with the keeper); family: of the keeper's group, so not its duplicate; distinct: joined to
    # the cluster through a chain, below the threshold to every kept record, so kept.
    role = ["keep" if c.keeper[c.label[r]] == r else "duplicate" if r in c.drops else "family" if r in family
            else "distinct" for r in rows.tolist()]
    # A dropped record names the kept record it duplicates; any other member, the cluster's keeper.
    named = [c.drops[r].keeper if r in c.drops else c.keeper[c.label[r]] for r in rows.tolist()]
    keeper_ids = plan.ids.take(pa.array(named, pa.int64())).to_pylist()
    pq.write_table(pa.table({
        "id": plan.ids.take(pa.array(rows, pa.int64())),
        "cluster": [f"{level.name}-{k[:16]}" for k in plan.ids.take(
            pa.array([c.keeper[c.label[r]] for r in rows.tolist()], pa.int64())).to_pylist()],
        "role": role,
        "kept_id": keeper_ids,
        "similarity": pa.array([c.drops[r].similarity if r in c.drops else None for r in rows.tolist()], pa.float64()),
        "dropped": [dropped and r in c.drops for r in rows.tolist()],
    }), out / "clusters.parquet")
    parts = [(*plan.pairs, "duplicate"), *[(p, s, e, "borderline") for p, s, e in plan.borderline]]
    both = np.concatenate([np.zeros((0, 2), np.int64), *[p for p, _, _, _ in parts]])
    estimates = np.concatenate([np.zeros(0), *[np.asarray(e, np.float64) for _, _, e, _ in parts]]).round(4)
    table = pa.table({
        "id_a": plan.ids.take(pa.array(both[:, 0], pa.int64())),
        "id_b": plan.ids.take(pa.array(both[:, 1], pa.int64())),
        # What decided: the exact Jaccard of the shingle sets (near), cosine (semantic), 1 (exact).
        "similarity": pa.array(np.concatenate([np.zeros(0), *[np.asarray(s, np.float64) for _, s, _, _ in parts]]).round(4)),
        "estimate": pa.array(estimates, pa.float64(), mask=np.isnan(estimates)),  # near: the MinHash estimate
        "decision": [d for p, _, _, d in parts for _ in range(len(p))],
    })
    pq.write_table(table.filter(pc.not_equal(table["id_a"], table["id_b"])), out / "pairs.parquet")
