"""Dedup pass 1 on the workers: each shard's features (hashes, MinHash signatures, embeddings),
its bucket keys (exact, near: buckets.py) and rank inputs; on the driver, the plan they make.

Features stay in the shards' files for the levels that bucket (read by row, sharded.py); the
semantic level's neighbour search reads every embedding, so the driver stacks them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.atomic import save_npy_atomic
from pipeline.dedup.buckets import BucketFile, salted, write_buckets
from pipeline.dedup.clusters import Clusters
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.keep import RankInputs
from pipeline.dedup.levels import cached_level
from pipeline.dedup.sharded import ShardedFeatures, ShardedSets, sharded, sharded_sets
from pipeline.parts import Shard
from pipeline.similarity import GroupMerger, compared_text, content_key
from pipeline.similarity.shingle_sets import concat as concat_sets
from pipeline.stage import ShardInput

Reject = tuple[str, str, str, float]  # reason, detail, duplicate_of, similarity


@dataclass
class Plan:
    ids: pa.Array  # record id per row (Arrow strings: 5M as Python strings held ~0.5 GB)
    kinds: np.ndarray
    groups: np.ndarray  # group code per row
    group_names: pa.Array  # group id per code
    features: np.ndarray | ShardedFeatures
    sets: ShardedSets | None = None  # shingle sets by row (near, exact verification)
    rejects: dict[int, Reject] = field(default_factory=dict)  # row -> reason, detail, of, sim
    clusters: Clusters | None = None
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # verified pairs, similarities, estimates
    borderline: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)  # near misses
    merger: GroupMerger = field(default_factory=GroupMerger)
    counters: dict[str, int] = field(default_factory=dict)

    def id(self, row: int) -> str:
        return self.ids[row].as_py()

    def group(self, code: int) -> str:
        return self.group_names[code].as_py()


@dataclass
class ShardFeatures:
    ranks: RankInputs  # compacted
    kinds: pa.Array  # dictionary-encoded
    groups: pa.Array
    features: str | None  # the .npy file of the shard's features (None: no records)
    counters: dict[str, int]
    rows: int = 0
    width: int = 0
    dtype: str = "float32"
    buckets: BucketFile | None = None  # its bucket keys by partition (levels that bucket)
    sets: str | None = None  # stem of its shingle set files (near, exact verification)


@dataclass(frozen=True)
class FeatureJob:
    level: str
    config: DedupConfig
    cache_dir: str | None
    columns: tuple[str, ...]
    batch_size: int
    work_dir: str
    partitions: int = 0  # key partitions of the bucket shuffle; 0: the level does not bucket


def shard_features(job: FeatureJob, shard: Shard) -> ShardFeatures:
    """Pass 1 on a worker: the features, bucket keys and rank inputs of one shard's records."""
    level = cached_level(job.level, job.config, job.cache_dir)
    before = level.counters()
    config = job.config
    ranks, kinds, groups, feats, sets = RankInputs(config.quality_column), [], [], [], []
    for batch in ShardInput(shard, Path("."), job.batch_size).batches(job.columns):
        rows = batch.to_pylist()
        # Records of kinds the level does not compare get no content: never paired, always kept.
        texts = [compared_text(r, config.compared_fields(r["kind"]), level.canonical_text)
                 if config.compares(level.name, r["kind"])
                 else None for r in rows]
        keys = [None if t is None or not level.uses_keys else content_key(r["kind"], t) for r, t in zip(rows, texts)]
        if level.keeps_sets:
            batch_feats, batch_sets = level.features_and_sets(texts, keys)  # type: ignore[attr-defined]
            sets.append(batch_sets)
        else:
            batch_feats = level.features(texts, keys)
        feats.append(batch_feats)
        ranks.add(rows)
        kinds += [r["kind"] for r in rows]
        groups += [r["group_id"] for r in rows]
    after = level.counters()
    counters = {k: v - before.get(k, 0) for k, v in after.items()}
    kinds_arr, groups_arr = pa.array(kinds, pa.string()).dictionary_encode(), pa.array(groups, pa.string())
    if not feats:
        return ShardFeatures(ranks.compact(), kinds_arr, groups_arr, None, counters)
    # Written beside the stage, not returned: workers and driver read them by row.
    stacked = np.concatenate(feats)
    path = save_npy_atomic(Path(job.work_dir) / f"features-{shard.part}.npy", stacked, make_parents=False)
    buckets = None
    if job.partitions:
        keys = salted(level.bucket_keys(stacked), kinds)
        buckets = write_buckets(Path(job.work_dir) / f"buckets-{shard.part}.npy", keys, shard.row_offset,
                                job.partitions)
    stem = None
    if sets:
        stem = str(Path(job.work_dir) / f"sets-{shard.part}")
        joined = concat_sets(sets)
        save_npy_atomic(f"{stem}.values.npy", joined.values, make_parents=False)
        save_npy_atomic(f"{stem}.offsets.npy", joined.offsets, make_parents=False)
    return ShardFeatures(ranks.compact(), kinds_arr, groups_arr, str(path), counters, len(stacked), stacked.shape[1],
                         stacked.dtype.str, buckets, stem)


def factorize(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """A code per value (in order of first appearance) and the distinct values."""
    encoded = values.dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def merge_ranks(parts: list[RankInputs], quality_column: str | None) -> RankInputs:
    return RankInputs.concat(parts, quality_column)


def merge_features(shards: list[ShardFeatures], stack: bool) -> Plan:
    """The shards' features in input order: row i of the plan is record i of the input. The
    workers wrote them to files; with `stack` the driver reads them into one array (semantic
    search reads every row: a memory map was paged in and out, 100% system time at 5M records),
    otherwise they stay in the files."""
    ids = pa.concat_arrays([s.ranks.ids for s in shards]) if shards else pa.array([], pa.string())
    kinds = np.concatenate([np.zeros(0, object), *[_objects(s.kinds) for s in shards]])
    codes, group_names = factorize(pa.concat_arrays([s.groups for s in shards]) if shards
                                   else pa.array([], pa.string()))
    counters: dict[str, int] = {}
    for s in shards:
        for k, v in s.counters.items():
            counters[k] = counters.get(k, 0) + v
    if stack:
        features: np.ndarray | ShardedFeatures = _stack([s.features for s in shards if s.features])
    else:
        width = next((s.width for s in shards if s.rows), 1)
        dtype = next((s.dtype for s in shards if s.rows), "float32")
        features = sharded([s.features for s in shards], [s.rows for s in shards], width, dtype)
    with_sets = [s for s in shards if s.sets]
    sets = sharded_sets([s.sets for s in shards], [s.rows for s in shards]) if with_sets else None
    return Plan(ids, kinds, codes, group_names, features, sets, counters=counters)


def _objects(encoded: pa.DictionaryArray) -> np.ndarray:
    """An object array of the values, sharing one string object per distinct value."""
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    return names[encoded.indices.to_numpy(zero_copy_only=False)]


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
