"""Shingle sets of many documents in one CSR pair of arrays, and their exact Jaccard by pair.

A MinHash estimate of a pair's Jaccard has a standard deviation of sqrt(J(1-J)/num_perm),
0.04 at J = 0.7 with 128 permutations: a decision on the estimate misses true pairs just above
the threshold and takes pairs just below it. Near dedup therefore verifies each candidate on the
shingle sets themselves. A set is the 32-bit hashes of the document's n-grams (the top half of
the 64-bit shingle hash MinHash uses): two distinct shingles share a 32-bit hash with
probability 2^-32, which moves a 300-shingle pair's Jaccard by about 1e-5 at most.

Stored per shard as two arrays: `values` (uint32, every document's shingles in order) and
`offsets` (int64, n + 1): document i's are values[offsets[i]:offsets[i + 1]]. They are stored
as hashed, repeats included: sorting every document's set cost as much as hashing it, and
only the documents of candidate pairs are ever compared, so `distinct()` sorts those when
they are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from pipeline.similarity.shingling import span_positions


_PAD = np.uint32(0xFFFFFFFF)
_BLOCK_CELLS = 1 << 22  # of one padded sort block: 16 MB


def _runs_of_documents(sizes: np.ndarray, lookahead: int = 4096):
    """(lo, hi) runs of consecutive documents whose padded block (documents x longest) stays
    under _BLOCK_CELLS, or one document where it alone is larger; empty runs are skipped."""
    lo = 0
    while lo < len(sizes):
        longest = np.maximum.accumulate(sizes[lo: lo + lookahead])
        area = longest * np.arange(1, len(longest) + 1)
        hi = lo + max(1, int(np.searchsorted(area, _BLOCK_CELLS, side="right")))
        if sizes[lo:hi].max() > 0:
            yield lo, hi
        lo = hi


@dataclass
class ShingleSets:
    values: np.ndarray  # uint32
    offsets: np.ndarray  # int64, len = documents + 1

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def distinct(self) -> "ShingleSets":
        """Each document's values sorted and without repeats (what `exact_jaccard` compares).

        Runs of consecutive documents are padded into one (documents x longest) uint32 block
        and sorted row by row: filled from one contiguous slice and cache-sized, 4x faster than
        one sort of (document, value) uint64 keys. The pad is the largest value, so a row's
        first `size` entries are its values sorted.
        """
        sizes = self.sizes
        counts = np.zeros(len(self), np.int64)
        kept = [np.zeros(0, np.uint32)]
        for lo, hi in _runs_of_documents(sizes):
            size = sizes[lo:hi]
            block = np.full((hi - lo, int(size.max())), _PAD, np.uint32)
            keep = np.arange(block.shape[1]) < size[:, None]
            block[keep] = self.values[self.offsets[lo]: self.offsets[hi]]
            block.sort(axis=1)
            keep[:, 1:] &= block[:, 1:] != block[:, :-1]
            counts[lo:hi] = keep.sum(axis=1)
            kept.append(block[keep])
        return ShingleSets(np.concatenate(kept), np.r_[0, np.cumsum(counts)].astype(np.int64))

    def take(self, rows: np.ndarray) -> "ShingleSets":
        rows = np.asarray(rows, dtype=np.int64)
        start, size = self.offsets[rows], self.sizes[rows]
        return ShingleSets(self.values[span_positions(start, size)], np.r_[0, np.cumsum(size)].astype(np.int64))


def from_values(values: np.ndarray, counts: np.ndarray) -> ShingleSets:
    """The shingles of consecutive documents as hashed (uint32 top halves, `counts` per document)."""
    return ShingleSets(np.asarray(values, np.uint32), np.r_[0, np.cumsum(counts)].astype(np.int64))


def from_hashes(hashes: np.ndarray, counts: np.ndarray) -> ShingleSets:
    """Distinct sets from the 64-bit shingle hashes of consecutive documents."""
    return from_values((np.asarray(hashes, np.uint64) >> np.uint64(32)).astype(np.uint32), counts).distinct()


def concat(parts: Sequence[ShingleSets]) -> ShingleSets:
    if not parts:
        return ShingleSets(np.zeros(0, np.uint32), np.zeros(1, np.int64))
    sizes = np.concatenate([p.sizes for p in parts])
    return ShingleSets(np.concatenate([p.values for p in parts]), np.r_[0, np.cumsum(sizes)].astype(np.int64))


def _row_keys(sets: ShingleSets) -> np.ndarray:
    """Every value with its row in the high 32 bits: sorted, as rows are in order and each set
    is sorted."""
    keys = np.repeat(np.arange(len(sets), dtype=np.uint64) << np.uint64(32), sets.sizes)
    keys |= sets.values  # widened as it is read: no uint64 copy of the values
    return keys


def exact_jaccard(sets: ShingleSets, pairs: np.ndarray, chunk: int = 1 << 15) -> np.ndarray:
    """float32 Jaccard |A & B| / |A | B| of the sets of rows (pairs[k, 0], pairs[k, 1]);
    `sets` must be distinct (see `ShingleSets.distinct`).

    Vectorised per chunk of pairs: each value of the smaller set of a pair, keyed by the other
    row, is looked up in one sorted array of all (row, value) keys, built once; the hits of a
    pair are a difference of a running sum. Two empty sets score 0.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    out = np.zeros(len(pairs), np.float32)
    sizes = sets.sizes
    keys = _row_keys(sets)
    if not len(keys):
        return out
    for lo in range(0, len(pairs), chunk):
        p = pairs[lo: lo + chunk]
        swap = sizes[p[:, 0]] > sizes[p[:, 1]]
        small, large = np.where(swap, p[:, 1], p[:, 0]), np.where(swap, p[:, 0], p[:, 1])
        size = sizes[small]
        ends = np.cumsum(size)
        needles = np.repeat(large.astype(np.uint64) << np.uint64(32), size)
        needles |= sets.values[span_positions(sets.offsets[small], size)]
        at = np.searchsorted(keys, needles)
        np.minimum(at, len(keys) - 1, out=at)
        hit = keys[at] == needles
        shared = np.zeros(len(p), np.int64)
        some = size > 0
        if some.any():
            shared[some] = np.add.reduceat(hit, (ends - size)[some], dtype=np.int64)
        union = sizes[p[:, 0]] + sizes[p[:, 1]] - shared
        out[lo: lo + len(p)] = np.where(union > 0, shared / np.maximum(union, 1), 0.0)
    return out
