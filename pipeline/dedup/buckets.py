"""Candidate search shuffled by bucket key, for the levels that bucket (exact and near).

The datatrove/NeMo Curator shape, on the executor's workers:
  1. per shard (pass 1, with the features): each record's bucket keys (the content hash; each
     LSH band's key), salted with the band and the record kind so that records of different
     kinds never meet, are written to one file sorted by key partition (`key % partitions`);
  2. per key partition: every shard's slice for it is read, equal keys are buckets, and a
     bucket's rows are paired (every pair up to `max_bucket` rows, in blocks, each pair by the
     first band it shares only; a sliding window beyond, counted in the manifest);
     the candidates are verified against the shards' features and only verified pairs (and
     near misses, for review) come back;
  3. on the driver: the pairs of every partition joined (a pair that shares keys in two bands
     may come from two partitions), clustered and decided (decisions.py).

A task's memory is bounded by its partition, not by the input: the number of partitions
grows with the number of keys (`ENTRIES_PER_PARTITION`).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.dedup.levels import cached_level
from pipeline.dedup.sharded import ShardedFeatures, ShardedSets
from pipeline.similarity.lsh import EMPTY_KEY
from pipeline.similarity.shingling import mix64

# 4M (key, row) entries: 64 MB read by a partition task, a few hundred MB at its peak.
ENTRIES_PER_PARTITION = 4 << 20
# An entry's row column holds the band (column of the keys) above the row number: a large
# bucket's pairs are emitted by the first band they share, which the partition must know.
_BAND_SHIFT = np.uint64(48)
_ROW_MASK = np.uint64((1 << 48) - 1)


def partitions_for(entries: int) -> int:
    return max(1, math.ceil(entries / ENTRIES_PER_PARTITION))


def kind_salt(kind: str) -> np.uint64:
    """A stable 64-bit salt per record kind (the same in every process, unlike hash())."""
    return np.uint64(int.from_bytes(hashlib.blake2b(kind.encode(), digest_size=8).digest(), "little"))


def salted(keys: np.ndarray, kinds: list[str]) -> np.ndarray:
    """(n, k) keys mixed with their column (band) and the row's kind; EMPTY_KEY entries stay empty."""
    keys = np.asarray(keys, dtype=np.uint64)
    salts = {k: kind_salt(k) for k in set(kinds)}
    row_salt = np.array([salts[k] for k in kinds], dtype=np.uint64).reshape(-1, 1)
    band = (np.arange(keys.shape[1], dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    out = mix64(keys ^ row_salt ^ band)
    out[out == EMPTY_KEY] = np.uint64(1)
    out[keys == EMPTY_KEY] = EMPTY_KEY
    return out


@dataclass(frozen=True)
class BucketFile:
    path: str
    offsets: tuple[int, ...]  # entries of partition p are [offsets[p], offsets[p + 1])


def write_buckets(path: Path, keys: np.ndarray, first_row: int, partitions: int) -> BucketFile:
    """One shard's (key, band and row) entries, grouped by partition, in one file."""
    from pipeline.atomic import save_npy_atomic

    n, k = keys.shape
    rows = np.repeat(np.arange(first_row, first_row + n, dtype=np.uint64), k)
    rows |= np.tile(np.arange(k, dtype=np.uint64), n) << _BAND_SHIFT
    flat = keys.ravel()
    ok = flat != EMPTY_KEY
    flat, rows = flat[ok], rows[ok]
    part = flat % np.uint64(partitions)
    order = np.argsort(part, kind="stable")
    entries = np.stack([flat[order], rows[order]], axis=1)
    offsets = np.r_[0, np.cumsum(np.bincount(part.astype(np.int64), minlength=partitions))]
    save_npy_atomic(path, entries, make_parents=False)
    return BucketFile(str(path), tuple(int(o) for o in offsets))


def read_partition(files: list[BucketFile], p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys, rows and bands of partition p from every shard's file."""
    keys, rows = [], []
    for f in files:
        lo, hi = f.offsets[p], f.offsets[p + 1]
        if hi > lo:
            mm = np.load(f.path, mmap_mode="r")
            block = np.array(mm[lo:hi])
            del mm
            keys.append(block[:, 0])
            rows.append(block[:, 1])
    if not keys:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    packed = np.concatenate(rows)
    return np.concatenate(keys), (packed & _ROW_MASK).astype(np.int64), (packed >> _BAND_SHIFT).astype(np.int64)


@dataclass(frozen=True)
class PairJob:
    """What every partition task needs: where the keys and the features are, and what to skip."""

    level: str
    config: object  # DedupConfig
    files: tuple[BucketFile, ...]
    features: ShardedFeatures
    excluded: np.ndarray  # sorted rows already rejected (reference sets, earlier datasets)
    sets: ShardedSets | None = None  # shingle sets, for exact verification (near)


@dataclass
class PartitionPairs:
    pairs: np.ndarray
    sims: np.ndarray  # what decided: exact Jaccard (near, by default), 1.0 (exact)
    estimates: np.ndarray  # the MinHash estimate beside it (nan where none)
    near_pairs: np.ndarray  # just below the threshold, for review
    near_sims: np.ndarray
    near_estimates: np.ndarray
    candidates: int
    counters: dict[str, int] = field(default_factory=dict)  # what the level counted doing it


def partition_pairs(job: PairJob, partition: int) -> PartitionPairs:
    """Pass 1b on a worker: one partition's candidates, verified by the level."""
    keys, rows, bands = read_partition(list(job.files), partition)
    if len(job.excluded):
        keep = ~np.isin(rows, job.excluded)
        keys, rows, bands = keys[keep], rows[keep], bands[keep]
    level = cached_level(job.level, job.config, None)
    before = level.counters()
    found = level.partition_pairs(job.features, keys, rows, bands, job.sets)
    counters = {k: v - before.get(k, 0) for k, v in level.counters().items() if v != before.get(k, 0)}
    return PartitionPairs(*found, counters=counters)


def join_partitions(results: list[PartitionPairs], n: int) -> PartitionPairs:
    """Every partition's pairs, each pair once, in row order."""
    def distinct(pairs: list[np.ndarray], sims: list[np.ndarray], est: list[np.ndarray]):
        p = np.concatenate([np.zeros((0, 2), np.int64), *pairs])
        s = np.concatenate([np.zeros(0, np.float32), *sims])
        e = np.concatenate([np.zeros(0, np.float32), *est])
        codes, first = np.unique(p[:, 0] * np.int64(n) + p[:, 1], return_index=True)
        return np.stack([codes // n, codes % n], axis=1) if len(codes) else p[:0], s[first], e[first]

    found = distinct([r.pairs for r in results], [r.sims for r in results], [r.estimates for r in results])
    near = distinct([r.near_pairs for r in results], [r.near_sims for r in results],
                    [r.near_estimates for r in results])
    counters: dict[str, int] = {}
    for r in results:
        for k, v in r.counters.items():
            counters[k] = counters.get(k, 0) + v
    return PartitionPairs(*found, *near, sum(r.candidates for r in results), counters)
