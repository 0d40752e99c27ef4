"""What every dedup level offers (features per record, pairs within a set, pairs across sets),
and the pairs type they exchange; the levels themselves are in levels.py and near_level.py."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

import numpy as np

from pipeline.dedup.clusters import Membership

Pairs = tuple[np.ndarray, np.ndarray]  # (m, 2) int64 rows, (m,) float similarities


def _empty_pairs() -> Pairs:
    return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.float32)


class Level(ABC):
    """One dedup level; subclasses say how features are made and compared."""

    name: str
    reason: str

    def params(self) -> dict[str, Any]:
        """What makes features comparable: an index built with other params cannot be reused."""
        return {}

    @abstractmethod
    def features(self, texts: list[str | None], keys: list[bytes | None]) -> np.ndarray:
        """One row of features per text; a None text gets a row that `valid` rejects."""

    def valid(self, feats: np.ndarray) -> np.ndarray:
        """Rows that have content to compare (the others are never duplicates)."""
        return np.ones(len(feats), dtype=bool)

    def pairs(self, feats: np.ndarray, members: Membership) -> Pairs:
        """Pairs (i < j) at or above the threshold, over features held in memory; exempt pairs
        may be left out early. Levels that bucket (near) find theirs in `partition_pairs`."""
        raise NotImplementedError(f"the {self.name} level pairs in its bucket partitions")

    @abstractmethod
    def cross(self, a: np.ndarray, b: np.ndarray) -> Pairs:
        """Pairs (row of a, row of b) at or above the threshold."""

    @abstractmethod
    def similarity(self, feats: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The similarity of each pair of rows (a[i], b[i])."""

    def borderline(self) -> Pairs:
        """Pairs just below the threshold found by the last `pairs` call (kept for human review)."""
        return _empty_pairs()

    def bucket_keys(self, feats: np.ndarray) -> np.ndarray | None:
        """(n, k) uint64 keys: rows that share one are candidates (buckets.py shuffles them to the
        workers); EMPTY_KEY for rows without content. None: the level searches on the driver."""
        return None

    def partition_pairs(self, feats: Any, keys: np.ndarray, rows: np.ndarray, bands: np.ndarray, sets: Any = None
                        ) -> tuple[np.ndarray, ...]:
        """One bucket key partition on a worker (buckets.py): the rows sharing keys (`bands`:
        the band, i.e. key column, of each entry), verified.
        Returns (pairs, similarities, estimates), the same for the near misses, and the number
        of candidates. Only levels with `bucket_keys` are asked."""
        raise NotImplementedError(f"the {self.name} level does not bucket")

    keeps_sets = False  # whether pass 1 stores shingle sets for exact verification (near)
    # Whether `features` reads the content keys (a 16-byte hash of each normalised text):
    # NFKC-normalising every text costs as much as the near level's hashing, so only when read.
    uses_keys = True
    canonical_text = True  # False: the level reads NFKC text and ignores case and spacing itself
    # Whether the driver links the rows the partitions found by the level's own `pairs` (exact:
    # the group rules), rather than taking the partitions' verified pairs as they are.
    relinks = False

    def counters(self) -> dict[str, int]:
        return {}

    def cross_with(self, b: np.ndarray, b_sets: Any = None) -> Callable[..., Pairs]:
        """`cross(a, b)` for many `a` against one `b` (a level may index b once). The returned
        function takes `a` and, for a level that keeps shingle sets, `a_sets`: objects whose
        `take(rows)` gives the sets of rows of a (b) by position; None decides on the features."""
        return lambda a, a_sets=None: self.cross(a, b)
