"""A level's features as the workers wrote them: one .npy file per shard, read by row on demand.

Near and exact dedup never stack every shard's features in one process: candidate search runs
on bucket partitions (buckets.py), and what the driver still needs (the similarity of a dropped
record to its keeper, the kept records' features for the index, matches with reference sets)
is gathered from these files a block of rows at a time.

The files are opened for each gather and closed after it: a memory map left open keeps every
page it ever touched counted in the process's resident memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Any

import numpy as np


@dataclass(frozen=True)
class ShardedFeatures:
    files: tuple[str, ...]  # one .npy per shard, in input order
    starts: tuple[int, ...]  # the first row of each file; rows of the input are numbered across files
    rows: int
    width: int
    dtype: str

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.width

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, rows) -> np.ndarray:
        if isinstance(rows, slice):
            return self.take(np.arange(self.rows)[rows])
        return self.take(np.asarray(rows, dtype=np.int64))

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The features of `rows` (any order, repeats allowed), reading each file once."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        out = np.empty((len(rows), self.width), dtype=self.dtype)
        if len(rows) == 0:
            return out
        if rows.min() < 0 or rows.max() >= self.rows:
            raise IndexError(f"rows outside 0..{self.rows - 1}")
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        bounds = np.searchsorted(wanted, np.asarray(self.starts[1:] + (self.rows,)), side="left")
        lo = 0
        for f, start, hi in zip(self.files, self.starts, bounds.tolist()):
            if hi > lo:
                mm = np.load(f, mmap_mode="r")
                out[order[lo:hi]] = mm[wanted[lo:hi] - start]
                del mm
            lo = hi
        return out


def sharded(files: list[str | None], counts: list[int], width: int, dtype: str) -> ShardedFeatures:
    """The shards' files in input order (a shard without records has no file)."""
    kept = [(f, c) for f, c in zip(files, counts) if f is not None and c > 0]
    starts = np.cumsum([0] + [c for _, c in kept])[:-1].tolist()
    return ShardedFeatures(tuple(f for f, _ in kept), tuple(starts), int(sum(counts)), width, dtype)


@dataclass(frozen=True)
class ShardedSets:
    """Near dedup's shingle sets as the workers wrote them: per shard, `<stem>.values.npy` and
    `<stem>.offsets.npy` (pipeline.similarity.shingle_sets), read by row."""

    stems: tuple[str, ...]
    starts: tuple[int, ...]
    rows: int

    def take(self, rows: np.ndarray):
        """The sets of `rows`, in that order, as one ShingleSets; each shard's part is copied
        straight to its place, so temporaries stay per shard."""
        from pipeline.similarity.shingling import span_positions
        from pipeline.similarity.shingle_sets import ShingleSets

        rows = np.asarray(rows, dtype=np.int64).ravel()
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        bounds = np.searchsorted(wanted, np.asarray(self.starts[1:] + (self.rows,)), side="left")
        begin, size = np.zeros(len(rows), np.int64), np.zeros(len(rows), np.int64)
        lo = 0
        for stem, start, hi in zip(self.stems, self.starts, bounds.tolist()):
            if hi > lo:
                offsets = np.load(f"{stem}.offsets.npy", mmap_mode="r")
                local = wanted[lo:hi] - start
                first, after = np.asarray(offsets[local]), np.asarray(offsets[local + 1])
                begin[order[lo:hi]], size[order[lo:hi]] = first, after - first
                del offsets
            lo = hi
        out_offsets = np.r_[0, np.cumsum(size)].astype(np.int64)
        values = np.empty(int(out_offsets[-1]), np.uint32)
        lo = 0
        for stem, hi in zip(self.stems, bounds.tolist()):
            if hi > lo:
                at = order[lo:hi]  # the requested positions this shard fills
                n = size[at]
                mm = np.load(f"{stem}.values.npy", mmap_mode="r")
                values[span_positions(out_offsets[at], n)] = mm[span_positions(begin[at], n)]
                del mm
            lo = hi
        return ShingleSets(values, out_offsets)


def sharded_sets(stems: list[str | None], counts: list[int]) -> ShardedSets:
    kept = [(s, c) for s, c in zip(stems, counts) if s is not None and c > 0]
    starts = np.cumsum([0] + [c for _, c in kept])[:-1].tolist()
    return ShardedSets(tuple(s for s, _ in kept), tuple(starts), int(sum(counts)))


class RowsOf:
    """The shingle sets of `rows` of a store, read by position among them (what a level's
    cross comparison takes for each side, and an index's sets by index row)."""

    def __init__(self, sets: Any, rows: np.ndarray):
        self.sets, self.rows = sets, rows

    def take(self, positions: np.ndarray):
        return self.sets.take(self.rows[positions])
