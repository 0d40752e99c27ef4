"""A dedup level as a stage: one stage per level (dedup_exact, dedup_near, dedup_semantic).

Two passes over the input, because whether a record is kept depends on records after it:
  pass 1 (plan): compute every record's features; drop copies of reference-set records
      (decontamination) and of records of earlier datasets (`against`); pair the rest within
      each record kind, cluster the pairs and choose each cluster's keeper (clusters.py);
  pass 2 (write): re-read; write kept records, with the groups of every cluster joined so the
      split keeps a cluster together, and rejected ones naming what they duplicate.
The stage folder also holds clusters.parquet (every clustered record and its role),
pairs.parquet (verified pairs, and near misses for review) and index/ (features of the kept
records, for incremental runs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.dedup.clusters import Clusters, Membership, cluster, group_unions
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.external import External, external_fingerprints, match_external
from pipeline.dedup.keep import RankInputs, keep_ranks, rank_columns
from pipeline.dedup.levels import Level, make_level
from pipeline.fingerprint import hash_json
from pipeline.records import operation
from pipeline.split.content import compared_text, content_key
from pipeline.split.groups import GroupMerger
from pipeline.store import BatchResult, StageOutput, StageStore, StageWriter, reject_rows

VERSION = "1"
_CONTENT = ("text", "label", "system", "prompt", "response", "code", "language")


def stage_name(level: str) -> str:
    return f"dedup_{level}"


def level_config(config: DedupConfig, level: str) -> dict[str, Any]:
    """The settings that shape this level's output; other levels' settings do not invalidate it."""
    c = config.model_dump(mode="json")
    shared = {k: c[k] for k in ("fields", "keep", "quality_column", "compare_within_group", "drop",
                                "borderline_margin", "reference_sets", "against")}
    return {"level": level, **shared, level: c[level]}


@dataclass
class Plan:
    ids: list[str]
    kinds: np.ndarray
    groups: np.ndarray  # group code per row
    group_names: list[str]
    features: np.ndarray
    rejects: dict[int, tuple[str, str, str, float]] = field(default_factory=dict)  # row -> reason, detail, of, sim
    clusters: Clusters | None = None
    pairs: tuple[np.ndarray, np.ndarray] | None = None  # verified pairs and their similarities
    borderline: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # near misses, per kind
    merger: GroupMerger = field(default_factory=GroupMerger)
    counters: dict[str, int] = field(default_factory=dict)


def deduplicate(level_name: str, source: StageOutput, config: DedupConfig, store: StageStore, *,
                cache_dir: Path | None = None, progress: Callable[[int], None] | None = None,
                batch_size: int = 2000) -> StageOutput:
    """Run one level over the kept records of `source`, or reuse its stored output."""
    fingerprint = hash_json({"source": source.fingerprint, **external_fingerprints(config, level_name)})
    schema = pq.read_schema(source.kept_path)
    name = stage_name(level_name)

    def produce(writer: StageWriter) -> None:
        level = make_level(level_name, config, cache_dir)
        plan = plan_level(level, source, config, batch_size, progress)
        kept_rows = write_records(writer, name, level, source, plan, config, schema, batch_size)
        write_decisions(writer.tmp_dir, level, plan, config.drop)
        from pipeline.dedup.index import write_index

        write_index(writer.tmp_dir, level.name, level.params(), [plan.ids[i] for i in kept_rows],
                    plan.kinds[kept_rows].tolist(), [plan.group_names[plan.groups[i]] for i in kept_rows],
                    plan.features[kept_rows])
        writer.write(BatchResult(schema.empty_table(), reject_rows([]), {**plan.counters, **level.counters()}), 0)

    return store.run(name, VERSION, level_config(config, level_name), fingerprint, schema, produce)


def plan_level(level: Level, source: StageOutput, config: DedupConfig, batch_size: int,
               progress: Callable[[int], None] | None) -> Plan:
    """Pass 1: features, external matches, clusters."""
    import pandas as pd

    names = set(pq.read_schema(source.kept_path).names)
    columns = [c for c in dict.fromkeys(("id", "kind", "group_id", *_CONTENT, *rank_columns(config.quality_column)))
               if c in names]
    ranks_in = RankInputs(config.quality_column)
    kinds, groups, feats = [], [], []
    for batch in pq.ParquetFile(source.kept_path).iter_batches(batch_size=batch_size, columns=columns):
        rows = batch.to_pylist()
        # Records of kinds the level does not compare get no content: never paired, always kept.
        texts = [compared_text(r, config.compared_fields(r["kind"])) if config.compares(level.name, r["kind"])
                 else None for r in rows]
        keys = [None if t is None else content_key(r["kind"], t) for r, t in zip(rows, texts)]
        feats.append(level.features(texts, keys))
        ranks_in.add(rows)
        kinds += [r["kind"] for r in rows]
        groups += [r["group_id"] for r in rows]
        if progress:
            progress(len(rows))
    codes, group_names = pd.factorize(pd.Series(groups, dtype=object))
    plan = Plan(ranks_in.ids, np.asarray(kinds, dtype=object), codes.astype(np.int64), list(group_names),
                np.concatenate(feats) if feats else np.zeros((0, 1)))
    external: External = match_external(level, plan.features, plan.kinds, config)
    plan.rejects.update(external.rejects)
    plan.counters.update(external.counters)
    id_codes, _ = pd.factorize(pd.Series(plan.ids, dtype=object))
    members = Membership(plan.groups, id_codes.astype(np.int64), config.compare_within_group)
    plan.clusters = cluster_internal(level, plan, members, keep_ranks(ranks_in, config.keep), config,
                                     set(plan.rejects))
    return plan


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


def write_records(writer: StageWriter, name: str, level: Level, source: StageOutput, plan: Plan,
                  config: DedupConfig, schema: pa.Schema, batch_size: int) -> np.ndarray:
    """Pass 2: kept records (groups joined) and rejected ones; returns the kept rows."""
    kept_rows: list[int] = []
    row = 0
    for batch in source.iter_batches(batch_size):
        table = pa.Table.from_batches([batch])
        groups = table.column("group_id").to_pylist()
        operations = table.column("operations").to_pylist()
        keep_idx, rejected = [], []
        for i in range(batch.num_rows):
            reject = plan.rejects.get(row + i)
            if reject is not None:
                rejected.append(_reject_row(name, table, i, reject))
                continue
            merged = plan.merger.find(groups[i])
            if merged != groups[i]:
                op = operation(f"{name}.merge_group", name, merged_into=merged, previous_group=groups[i])
                operations[i] = [*(operations[i] or []), op]
                groups[i] = merged
            keep_idx.append(i)
        kept_rows += [row + i for i in keep_idx]
        row += batch.num_rows
        kept = table.take(pa.array(keep_idx, type=pa.int64()))
        replaced = {"group_id": [groups[i] for i in keep_idx], "operations": [operations[i] for i in keep_idx]}
        arrays = [pa.array(replaced[f.name], type=f.type) if f.name in replaced else kept.column(f.name)
                  for f in schema]
        writer.write(BatchResult(pa.Table.from_arrays(arrays, schema=schema), reject_rows(rejected)), batch.num_rows)
    return np.asarray(kept_rows, dtype=np.int64)


def _reject_row(stage: str, table: pa.Table, i: int, reject: tuple[str, str, str, float]) -> dict[str, Any]:
    reason, detail, duplicate_of, similarity = reject
    rec = table.slice(i, 1).to_pylist()[0]
    return {"stage": stage, "reason": reason, "detail": detail, "source": rec.get("source"),
            "origin": rec.get("origin"), "id": rec.get("id"), "duplicate_of": duplicate_of,
            "similarity": round(float(similarity), 4), "record": json.dumps(rec, ensure_ascii=False, default=str)}


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
