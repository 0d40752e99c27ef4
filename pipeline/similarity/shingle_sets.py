"""Shingle sets of many documents in one CSR pair of arrays, and their exact Jaccard by pair.

A MinHash estimate of a pair's Jaccard has a standard deviation of sqrt(J(1-J)/num_perm),
0.04 at J = 0.7 with 128 permutations: a decision on the estimate misses true pairs just above
the threshold and takes pairs just below it. Near dedup therefore verifies each candidate on the
shingle sets themselves. A set is the 32-bit hashes of the document's n-grams (the top half of
the 64-bit shingle hash MinHash uses): two distinct shingles share a 32-bit hash with
probability 2^-32, which moves a 300-shingle pair's Jaccard by about 1e-5 at most.

Stored per shard as two arrays: `values` (uint32, every document's shingles in order) and
`offsets` (int64, n + 1): document i's are values[offsets[i]:offsets[i + 1]]. They are stored
as hashed, repeats included and unsorted: sorting every document's set cost as much as hashing
it, and only the documents of candidate pairs are ever compared, each pair through a small hash
table that counts a repeat once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from pipeline.similarity.shingling import span_positions


@dataclass
class ShingleSets:
    values: np.ndarray  # uint32
    offsets: np.ndarray  # int64, len = documents + 1

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, rows: np.ndarray) -> "ShingleSets":
        rows = np.asarray(rows, dtype=np.int64)
        start, size = self.offsets[rows], self.sizes[rows]
        return ShingleSets(self.values[span_positions(start, size)], np.r_[0, np.cumsum(size)].astype(np.int64))


def from_values(values: np.ndarray, counts: np.ndarray) -> ShingleSets:
    """The shingles of consecutive documents as hashed (uint32 top halves, `counts` per document)."""
    return ShingleSets(np.asarray(values, np.uint32), np.r_[0, np.cumsum(counts)].astype(np.int64))


def from_hashes(hashes: np.ndarray, counts: np.ndarray) -> ShingleSets:
    """The sets of consecutive documents from their 64-bit shingle hashes."""
    return from_values((np.asarray(hashes, np.uint64) >> np.uint64(32)).astype(np.uint32), counts)


def concat(parts: Sequence[ShingleSets]) -> ShingleSets:
    if not parts:
        return ShingleSets(np.zeros(0, np.uint32), np.zeros(1, np.int64))
    sizes = np.concatenate([p.sizes for p in parts])
    return ShingleSets(np.concatenate([p.values for p in parts]), np.r_[0, np.cumsum(sizes)].astype(np.int64))


def exact_jaccard(sets: ShingleSets, pairs: np.ndarray) -> np.ndarray:
    """float32 Jaccard |A & B| / |A | B| of the sets of rows (pairs[k, 0], pairs[k, 1]), each
    read as stored (repeats count once); compiled, one small hash table per pair
    (`kernels.pair_jaccard`). Two empty sets score 0."""
    from pipeline.similarity import kernels

    pairs = np.ascontiguousarray(np.asarray(pairs, dtype=np.int64).reshape(-1, 2))
    return kernels.pair_jaccard(np.ascontiguousarray(sets.values, np.uint32),
                                np.ascontiguousarray(sets.offsets, np.int64), pairs)
