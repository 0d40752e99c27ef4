"""Dedup pass 1 on the workers: each shard's features (hashes, MinHash signatures, embeddings)
and rank inputs; on the driver, the plan they make, the features stacked in one memory-mapped file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.atomic import save_npy_atomic
from pipeline.dedup.clusters import Clusters
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.keep import RankInputs
from pipeline.dedup.levels import Level, make_level
from pipeline.fingerprint import hash_json
from pipeline.parts import Shard
from pipeline.similarity import GroupMerger, compared_text, content_key
from pipeline.stage import ShardInput

Reject = tuple[str, str, str, float]  # reason, detail, duplicate_of, similarity


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
        path = save_npy_atomic(Path(job.work_dir) / f"features-{shard.part}.npy", np.concatenate(feats),
                               make_parents=False)
    return ShardFeatures(ranks, kinds, groups, None if path is None else str(path), counters)


def factorize(values: list[str]) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    codes, names = pd.factorize(pd.Series(values, dtype=object))
    return codes.astype(np.int64), list(names)


def merge_ranks(parts: list[RankInputs], quality_column: str | None) -> RankInputs:
    out = RankInputs(quality_column)
    for p in parts:
        out.ids += p.ids
        out.annotated += p.annotated
        out.quality += p.quality
        out.length += p.length
    return out


def merge_features(shards: list[ShardFeatures]) -> Plan:
    """The shards' features in input order: row i of the plan is record i of the input. The
    workers wrote them to files; the driver reads them into one array (candidate search reads
    every row: a memory map was paged in and out, 100% system time at 5M records)."""
    ids = [i for s in shards for i in s.ranks.ids]
    kinds = [k for s in shards for k in s.kinds]
    codes, group_names = factorize([g for s in shards for g in s.groups])
    counters: dict[str, int] = {}
    for s in shards:
        for k, v in s.counters.items():
            counters[k] = counters.get(k, 0) + v
    return Plan(ids, np.asarray(kinds, dtype=object), codes, group_names,
                _stack([s.features for s in shards if s.features]), counters=counters)


def _stack(files: list[str]) -> np.ndarray:
    """The arrays of `files` stacked into one preallocated array (no second copy); the files are removed."""
    if not files:
        return np.zeros((0, 1))
    parts = [np.load(f, mmap_mode="r") for f in files]
    out = np.empty((sum(len(p) for p in parts), *parts[0].shape[1:]), dtype=parts[0].dtype)
    row = 0
    for p, f in zip(parts, files):
        out[row: row + len(p)] = p
        row += len(p)
        Path(f).unlink()
    return out
