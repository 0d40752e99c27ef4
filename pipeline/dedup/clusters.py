"""From verified duplicate pairs to decisions: clusters, the one record kept, what each drop duplicates.

Pairs join records into clusters (connected components); the clusters join groups, so the
split keeps a cluster together. Each cluster keeps its member of lowest keep rank (see
keep.py), so a cluster is never emptied, however its members were found. Members of the
keeper's own group (an augmentation family, the turns of one dialogue) are not duplicates of it
unless `within_group` says so: they are kept as its family.

Which other members are dropped (the keep-one guarantee): for near and semantic dedup, whose
similarity is not transitive (a~b and b~c, yet a and c apart), a record is dropped only when
it was verified against a record that is kept, and it names that record and their similarity,
at or above the threshold. Records reached only through a chain stay. For exact dedup, equal
content is transitive: every other member is dropped, naming the keeper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

SimilarityFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rows a, rows b) -> similarity of each pair


@dataclass
class Membership:
    """Which pairs of records are exempt from deduplication: two different records of one group.

    Two rows with the same record id are the same record read twice (an identical line of one
    file): they are always duplicates, although they share their default group.
    """

    groups: np.ndarray  # group code per row
    ids: np.ndarray  # record id code per row
    within_group: bool = False

    def exempt(self, a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        if self.within_group:
            return np.zeros(np.broadcast(a, b).shape, dtype=bool)
        return (self.groups[a] == self.groups[b]) & (self.ids[a] != self.ids[b])

    def subset(self, rows: np.ndarray) -> "Membership":
        return Membership(self.groups[rows], self.ids[rows], self.within_group)


@dataclass
class Drop:
    keeper: int  # row of the kept record this one duplicates
    similarity: float  # to the kept record
    matched: int  # the direct neighbour that put it in the cluster
    matched_similarity: float


@dataclass
class Clusters:
    """What one level decided, by input row."""

    label: np.ndarray  # (n,) cluster number per row, -1 when the row has no duplicate
    keeper: dict[int, int] = field(default_factory=dict)  # cluster -> kept row
    drops: dict[int, Drop] = field(default_factory=dict)
    family: list[int] = field(default_factory=list)  # kept rows in a cluster because they share the keeper's group

    @property
    def count(self) -> int:
        return len(self.keeper)


def without_exempt(pairs: np.ndarray, sims: np.ndarray, members: Membership) -> tuple[np.ndarray, np.ndarray]:
    """The pairs that may be duplicates (not two records of one group)."""
    if len(pairs) == 0:
        return pairs, sims
    ok = ~members.exempt(pairs[:, 0], pairs[:, 1])
    return pairs[ok], sims[ok]


def cluster(n: int, pairs: np.ndarray, sims: np.ndarray, members: Membership, ranks: np.ndarray,
            similarity: SimilarityFn, direct: bool = False) -> Clusters:
    """Decide every row: kept alone, kept as a cluster's keeper or family, kept, or dropped.

    `direct` (near, semantic): a record is dropped only for a kept record it was itself verified
    against; records joined to the keeper through a chain alone stay. Without it (exact, where
    a chain of equal contents is equal content) every other member of a cluster is dropped.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs, sims = without_exempt(pairs, sims, members)
    label = np.full(n, -1, dtype=np.int64)
    if len(pairs) == 0:
        return Clusters(label)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    sizes = np.bincount(comp)
    rows_in = np.flatnonzero(sizes[comp] > 1)
    # Clusters are numbered by their members' first row, so numbering follows input order.
    _, first = np.unique(comp[rows_in], return_index=True)
    renumber = np.full(len(sizes), -1, dtype=np.int64)
    renumber[comp[rows_in][np.sort(first)]] = np.arange(len(first))
    label[rows_in] = renumber[comp[rows_in]]

    order = rows_in[np.lexsort((ranks[rows_in], label[rows_in]))]
    starts = np.flatnonzero(np.r_[True, label[order][1:] != label[order][:-1]])
    keepers = order[starts]
    out = Clusters(label, keeper=dict(zip(label[keepers].tolist(), keepers.tolist())))
    keeper_of = np.full(n, -1, dtype=np.int64)
    keeper_of[rows_in] = keepers[label[rows_in]]

    others = rows_in[keeper_of[rows_in] != rows_in]
    family = members.exempt(others, keeper_of[others])
    out.family = others[family].tolist()
    if direct:
        out.drops = direct_drops(n, pairs, sims, rows_in, ranks)
        out.family = [r for r in out.family if r not in out.drops]
        return out
    others = others[~family]
    if len(others):
        to_keeper = similarity(others, keeper_of[others])
        matched, matched_sim = best_neighbours(n, pairs, sims)
        for row, k, s in zip(others.tolist(), keeper_of[others].tolist(), to_keeper.tolist()):
            out.drops[row] = Drop(k, float(s), int(matched[row]), float(matched_sim[row]))
    return out


def direct_drops(n: int, pairs: np.ndarray, sims: np.ndarray, rows: np.ndarray, ranks: np.ndarray
                 ) -> dict[int, Drop]:
    """Greedy in keep order: a record with a verified pair to an already kept record is dropped,
    naming the most similar such record (ties: the better ranked); any other record is kept.
    So every drop is at or above the threshold to the record it names, and no cluster is emptied
    (its best-ranked member meets no kept neighbour before it)."""
    a = np.concatenate([pairs[:, 0], pairs[:, 1]])
    b = np.concatenate([pairs[:, 1], pairs[:, 0]])
    s = np.concatenate([sims, sims]).astype(np.float64)
    # Per row, neighbours by similarity (highest first), then by keep rank.
    by = np.lexsort((ranks[b], -s, a))
    a, b, s = a[by], b[by], s[by]
    start = np.searchsorted(a, np.arange(n + 1))
    kept = np.zeros(n, dtype=bool)
    drops: dict[int, Drop] = {}
    for row in rows[np.argsort(ranks[rows], kind="stable")].tolist():
        lo, hi = start[row], start[row + 1]
        hit = np.flatnonzero(kept[b[lo:hi]])
        if len(hit):
            k, sim = int(b[lo + hit[0]]), float(s[lo + hit[0]])
            drops[row] = Drop(k, sim, k, sim)
        else:
            kept[row] = True
    return drops


def best_neighbours(n: int, pairs: np.ndarray, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row, its most similar directly paired row and that similarity (-1 / nan if none)."""
    a = np.concatenate([pairs[:, 0], pairs[:, 1]])
    b = np.concatenate([pairs[:, 1], pairs[:, 0]])
    s = np.concatenate([sims, sims]).astype(np.float64)
    order = np.lexsort((b, -s, a))  # per row: highest similarity first, then lowest partner row
    a, b, s = a[order], b[order], s[order]
    first = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    best = np.full(n, -1, dtype=np.int64)
    best_sim = np.full(n, np.nan)
    best[a[first]] = b[first]
    best_sim[a[first]] = s[first]
    return best, best_sim


def group_unions(clusters: Clusters, groups: np.ndarray) -> list[tuple[int, int]]:
    """(group, group) code pairs to join: every group with a member in a cluster joins the keeper's.

    Dropped members count too: a dropped record's family stays, and it is a near copy of the
    kept record's family, so the two families must land in one split.
    """
    rows = np.flatnonzero(clusters.label >= 0)
    if len(rows) == 0:
        return []
    keeper_rows = np.array([clusters.keeper[c] for c in clusters.label[rows].tolist()], dtype=np.int64)
    a, b = groups[rows], groups[keeper_rows]
    differ = a != b
    return sorted(set(zip(a[differ].tolist(), b[differ].tolist())))
