"""The three levels behind one interface: features per record, pairs within a set, pairs across sets.

  exact     features: the 16-byte hash of the compared content; similarity 1.0
  near      features: MinHash signatures; candidates by LSH banding, verified by the exact Jaccard
            of their shingle sets (or by the estimate, `near.verify: estimate`)
  semantic  features: L2-normalised sentence embeddings; verified by cosine similarity

Features are what an incremental run stores and reloads: a later batch is compared with an
earlier dataset through them, without recomputing the earlier dataset's signatures or embeddings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pipeline.dedup.clusters import Membership
from pipeline.dedup.config import DedupConfig
from pipeline.fingerprint import hash_json

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


_NO_KEY = np.zeros(16, dtype=np.uint8)
# LSH buckets of up to this many rows are paired all at once, vectorised over every bucket of
# a partition (at most 2,016 pairs each); larger ones one by one (NearLevel.partition_pairs).
_SMALL_BUCKET = 64
# Against a reference set or an earlier dataset, each row meets this many rows of a shared
# bucket on the other side: enough to find a match where the other side holds many copies.
_CROSS_WINDOW = 64


class ExactLevel(Level):
    name, reason = "exact", "exact_duplicate"

    def features(self, texts, keys):
        out = np.zeros((len(keys), 16), dtype=np.uint8)
        for i, k in enumerate(keys):
            if k is not None:
                out[i] = np.frombuffer(k, dtype=np.uint8)
        return out

    def valid(self, feats):
        return feats.any(axis=1)

    def pairs(self, feats, members):
        """Each class of equal content, joined by edges between records that may be duplicates.

        Members link to the class's first member where allowed; the others (different records
        of the first member's group) link to the class's first member of another group, or to
        an earlier copy of themselves. A class spanning groups becomes one cluster; a family
        repeating itself inside its group, none.
        """
        valid = np.flatnonzero(self.valid(feats))
        if len(valid) < 2:
            return _empty_pairs()
        _, inverse, counts = np.unique(feats[valid].view("V16").ravel(), return_inverse=True, return_counts=True)
        dup = counts[inverse] > 1
        if not dup.any():
            return _empty_pairs()
        rows, cls = valid[dup], inverse[dup]
        order = np.lexsort((rows, cls))
        rows, cls = rows[order], cls[order]
        edges: list[tuple[int, int]] = []
        for same in np.split(rows, np.flatnonzero(np.diff(cls)) + 1):
            first, rest = same[0], same[1:]
            exempt = members.exempt(first, rest)
            edges += [(first, m) for m in rest[~exempt]]
            rest = rest[exempt]
            if len(rest) == 0:
                continue
            other = same[members.groups[same] != members.groups[first]]
            if len(other):
                edges += [(other[0], m) for m in rest]
                continue
            earliest: dict[int, int] = {}
            for m in rest.tolist():
                copy_of = earliest.setdefault(int(members.ids[m]), m)
                if copy_of != m:
                    edges.append((copy_of, m))
        pairs = np.sort(np.array(edges, dtype=np.int64).reshape(-1, 2), axis=1)
        return pairs, np.ones(len(pairs), dtype=np.float32)

    def bucket_keys(self, feats):
        from pipeline.similarity.lsh import EMPTY_KEY
        from pipeline.similarity.shingling import mix64

        halves = np.ascontiguousarray(feats).view(np.uint64).reshape(len(feats), 2)
        keys = mix64(halves[:, 0] ^ mix64(halves[:, 1].copy()))
        keys[keys == EMPTY_KEY] = np.uint64(1)
        keys[~self.valid(feats)] = EMPTY_KEY
        return keys.reshape(-1, 1)

    relinks = True

    def partition_pairs(self, feats, keys, rows, bands, sets=None):
        """The rows whose full content hash another row shares, chained per class of equal
        content (the driver links each class by the group rules). A 64-bit key is only where
        to look: classes are formed on the full hash of the rows that share a key."""
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        shared = np.unique(rows[counts[inverse] > 1])
        pairs = np.zeros((0, 2), np.int64)
        if len(shared) >= 2:
            _, cls = np.unique(np.ascontiguousarray(feats.take(shared)).view("V16").ravel(), return_inverse=True)
            order = np.lexsort((shared, cls))
            cls, ordered = cls[order], shared[order]
            same = cls[1:] == cls[:-1]
            pairs = np.stack([ordered[:-1][same], ordered[1:][same]], axis=1)
        empty, none = np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
        return (pairs, np.ones(len(pairs), np.float32), np.full(len(pairs), np.nan, np.float32),
                empty, none, none, len(shared))

    def cross(self, a, b):
        va, vb = self.valid(a), self.valid(b)
        index = {bytes(k): j for j, k in reversed(list(enumerate(b))) if vb[j]}
        hits = [(i, index[bytes(k)]) for i, k in enumerate(a) if va[i] and bytes(k) in index]
        pairs = np.array(hits, dtype=np.int64).reshape(-1, 2)
        return pairs, np.ones(len(pairs), dtype=np.float32)

    def similarity(self, feats, a, b):
        return np.ones(len(a), dtype=np.float32)


class NearLevel(Level):
    name, reason = "near", "near_duplicate"
    uses_keys, canonical_text = False, False

    def __init__(self, config: DedupConfig, borderline_margin: float):
        from pipeline.similarity.lsh import optimal_bands, recall_bands
        from pipeline.similarity.minhash import MinHasher
        from pipeline.similarity.oph import OnePermutationHasher

        c = config.near
        self.config = c
        if c.hashing == "one_permutation":
            from pipeline.similarity.oph_device import resolve_device

            self.hasher = OnePermutationHasher(num_perm=c.num_perm, ngram=c.ngram, unit=c.unit, seed=c.seed,
                                               device=resolve_device(c.device))
        else:
            self.hasher = MinHasher(num_perm=c.num_perm, ngram=c.ngram, unit=c.unit, seed=c.seed)
        # Exact verification makes a false candidate cheap and a missed one final: lay bands out for recall.
        layout = recall_bands if c.verify == "exact" else optimal_bands
        self.bands, self.rows = (c.bands, c.rows) if c.bands else layout(c.threshold, c.num_perm)
        self.margin = borderline_margin
        self._borderline = _empty_pairs()
        self._counters: dict[str, int] = {}

    def params(self):
        import unicodedata

        c = self.config
        # Word boundaries follow Python's Unicode tables, so their version is part of the signature.
        return {"scheme": self.hasher.scheme, "unicode": unicodedata.unidata_version, "num_perm": c.num_perm,
                "ngram": c.ngram, "unit": c.unit, "seed": c.seed}

    def features(self, texts, keys):
        return self.hasher.signatures(texts)

    @property
    def keeps_sets(self) -> bool:
        """Whether pass 1 stores each record's shingle set, for exact verification."""
        return self.config.verify == "exact"

    def features_and_sets(self, texts: list[str | None], keys):
        """Signatures and shingle sets (as hashed) from one shingling pass."""
        from pipeline.similarity.shingle_sets import from_values

        signatures, values, counts = self.hasher.sketch(texts, keep_shingles=True)
        return signatures, from_values(values, counts)

    def valid(self, feats):
        from pipeline.similarity.minhash import is_empty

        return ~is_empty(feats)

    def bucket_keys(self, feats):
        from pipeline.similarity.lsh import band_keys

        return band_keys(feats, self.bands, self.rows)

    def partition_pairs(self, feats, keys, rows, bands, sets=None):
        """Buckets of up to _SMALL_BUCKET rows are paired all at once; a larger one by itself,
        every pair up to `max_bucket` rows (in tiles, each pair by its first shared band only),
        a sliding window of `max_bucket` rows beyond, counted (near:windowed_buckets, _rows)."""
        from pipeline.similarity.lsh import bucket_pairs, split_buckets

        at_once = min(_SMALL_BUCKET, self.config.max_bucket)
        small, large = split_buckets(keys, rows, at_once)
        cand = bucket_pairs(keys[small], rows[small], len(feats), at_once)
        found = [self.verify(feats, cand, sets)]
        candidates = len(cand)
        for at in large:
            for cand in self._large_bucket_pairs(feats, rows[at], int(bands[at[0]])):
                found.append(self.verify(feats, cand, sets))
                candidates += len(cand)
        return (*(np.concatenate([f[k] for f in found]) for k in range(6)), candidates)

    def _large_bucket_pairs(self, feats, rows: np.ndarray, band: int):
        """Candidate pairs (global rows, i < j) of one large bucket, a tile at a time."""
        from pipeline.similarity.lsh import band_keys, first_band_pairs, window_pairs

        if len(rows) > self.config.max_bucket:
            self._count("near:windowed_buckets", 1)
            self._count("near:windowed_rows", len(rows))
            p, q = window_pairs(np.zeros(len(rows), np.uint64), self.config.max_bucket)
            yield np.stack([rows[p], rows[q]], axis=1)
            return
        keys = band_keys(feats.take(rows), self.bands, self.rows)
        for a, b in first_band_pairs(keys, band):
            yield np.stack([rows[a], rows[b]], axis=1)

    def _count(self, name: str, n: int) -> None:
        self._counters[name] = self._counters.get(name, 0) + n

    def verify(self, feats, cand, sets=None):
        """Decided on the exact Jaccard of the shingle sets (`sets`, read by row) when kept, the
        estimate otherwise. Returns pairs, similarities, estimates; then the same for near misses."""
        from pipeline.similarity.lsh import estimated_jaccard

        est = estimated_jaccard(feats, feats, cand, chunk=1 << 22)
        t = self.config.threshold
        if sets is None:
            sims = est
        else:
            # An estimate 5 standard deviations below the threshold is not worth reading sets for.
            check = np.flatnonzero(est >= t - max(self.config.margin(), self.margin))
            cand, est = cand[check], est[check]
            sims = exact_by_rows(sets, cand)
        ok, near = sims >= t, (sims < t) & (sims >= t - self.margin)
        return cand[ok], sims[ok], est[ok], cand[near], sims[near], est[near]

    def cross(self, a, b):
        return self.cross_indexed(a, self.index(b))

    def cross_with(self, b, b_sets=None):
        indexed = self.index(b)  # b's band keys made once for every chunk compared with it
        return lambda a, a_sets=None: self.cross_indexed(a, indexed, a_sets, b_sets)

    def index(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """b's valid rows and their band keys, for repeated `cross_indexed` calls against b."""
        from pipeline.similarity.lsh import band_keys

        vb = np.flatnonzero(self.valid(b))
        return b, vb, band_keys(b[vb], self.bands, self.rows)

    def cross_indexed(self, a: np.ndarray, indexed: tuple[np.ndarray, np.ndarray, np.ndarray],
                      a_sets: Any = None, b_sets: Any = None) -> Pairs:
        """Pairs of a and b rows at or above the threshold: on the exact Jaccard of their shingle
        sets when both sides' are given and the level verifies exactly, else on the estimate."""
        from pipeline.similarity.lsh import band_keys, cross_candidate_pairs, estimated_jaccard

        b, vb, b_keys = indexed
        va = np.flatnonzero(self.valid(a))
        cand = cross_candidate_pairs(band_keys(a[va], self.bands, self.rows), b_keys, _CROSS_WINDOW)
        cand = np.stack([va[cand[:, 0]], vb[cand[:, 1]]], axis=1) if len(cand) else cand.reshape(0, 2)
        sims = estimated_jaccard(a, b, cand)
        t = self.config.threshold
        if self.keeps_sets and a_sets is not None and b_sets is not None:
            check = sims >= t - self.config.margin()
            cand = cand[check]
            sims = exact_between(a_sets, b_sets, cand)
        else:
            self._count("near:cross_decided_on_estimate", len(cand))
        ok = sims >= t
        return cand[ok], sims[ok]

    def similarity(self, feats, a, b):
        from pipeline.similarity.lsh import estimated_jaccard

        return estimated_jaccard(feats, feats, np.stack([a, b], axis=1))

    def borderline(self):
        return self._borderline

    def counters(self):
        return dict(self._counters)


def exact_between(a_sets, b_sets, pairs: np.ndarray, chunk: int = 1 << 15) -> np.ndarray:
    """Exact Jaccard of pairs (row of a, row of b), each side's sets read by row (`take`), only
    for the rows involved, a chunk of pairs at a time."""
    from pipeline.similarity.shingle_sets import concat, exact_jaccard

    out = np.zeros(len(pairs), np.float32)
    for lo in range(0, len(pairs), chunk):
        part = pairs[lo: lo + chunk]
        rows_a, rows_b = np.unique(part[:, 0]), np.unique(part[:, 1])
        both = concat([a_sets.take(rows_a), b_sets.take(rows_b)]).distinct()
        local = np.stack([np.searchsorted(rows_a, part[:, 0]), len(rows_a) + np.searchsorted(rows_b, part[:, 1])],
                         axis=1)
        out[lo: lo + len(part)] = exact_jaccard(both, local)
    return out


def exact_by_rows(sets, pairs: np.ndarray, chunk: int = 1 << 15) -> np.ndarray:
    """Exact Jaccard of pairs of input rows, reading only the sets of the rows involved, a chunk
    of pairs at a time (a set holds hundreds of shingles: all rows at once took 1 GB at 1M records)."""
    from pipeline.similarity.shingle_sets import exact_jaccard

    out = np.zeros(len(pairs), np.float32)
    for lo in range(0, len(pairs), chunk):
        part = pairs[lo: lo + chunk]
        rows = np.unique(part)
        out[lo: lo + len(part)] = exact_jaccard(sets.take(rows).distinct(), np.searchsorted(rows, part))
    return out


class SemanticLevel(Level):
    name, reason = "semantic", "semantic_duplicate"

    def __init__(self, config: DedupConfig, cache_dir: Path | None, progress: Callable[[int], None] | None = None):
        from pipeline.dedup.embed import Embedder, EmbeddingCache, resolve_device

        c = config.semantic
        self.config = c
        self.device = resolve_device(c.device)
        self.embedder = Embedder(model=c.model, device=self.device, batch_size=c.batch_size, fp16=c.fp16,
                                 max_seq_length=c.max_seq_length)
        self.cache = EmbeddingCache(cache_dir, self.embedder.model_key) if (c.cache and cache_dir) else None
        self.progress = progress
        self._counters: dict[str, int] = {}

    def params(self):
        return {"model_key": self.embedder.model_key}

    def features(self, texts, keys):
        from pipeline.dedup.embed import embed_cached

        present = [i for i, t in enumerate(texts) if t is not None]
        out = np.zeros((len(texts), self.embedder.dim), dtype=np.float32)
        if present:
            vecs, counters = embed_cached([texts[i] for i in present], [keys[i] for i in present],
                                          self.embedder, self.cache, self.progress)
            out[present] = vecs
            for k, v in counters.items():
                self._counters[k] = self._counters.get(k, 0) + v
        return out

    def valid(self, feats):
        return np.abs(feats).sum(axis=1) > 0

    def pairs(self, feats, members):
        from pipeline.dedup.neighbors import similar_pairs

        rows = np.flatnonzero(self.valid(feats))
        c = self.config
        pairs, sims, counters = similar_pairs(feats[rows], c.threshold, device=self.device,
                                              cluster_above=c.cluster_above, cluster_size=c.cluster_size)
        for k, v in counters.items():  # summed over the calls (one per record kind)
            key = k if k.startswith("semantic:") else f"semantic:{k}"
            merge = max if "largest" in key else int.__add__
            self._counters[key] = merge(self._counters.get(key, 0), int(v))
        return (rows[pairs] if len(pairs) else pairs.reshape(0, 2)), sims

    def cross(self, a, b):
        from pipeline.dedup.neighbors import cross_similar_pairs

        va, vb = np.flatnonzero(self.valid(a)), np.flatnonzero(self.valid(b))
        pairs, sims = cross_similar_pairs(a[va], b[vb], self.config.threshold, device=self.device)
        if len(pairs) == 0:
            return pairs.reshape(0, 2), sims
        return np.stack([va[pairs[:, 0]], vb[pairs[:, 1]]], axis=1), sims

    def similarity(self, feats, a, b):
        return np.einsum("ij,ij->i", feats[a], feats[b]).astype(np.float32)

    def counters(self):
        return dict(self._counters)


def make_level(name: str, config: DedupConfig, cache_dir: Path | None = None,
               progress: Callable[[int], None] | None = None) -> Level:
    if name == "exact":
        return ExactLevel()
    if name == "near":
        return NearLevel(config, config.borderline_margin)
    if name == "semantic":
        return SemanticLevel(config, cache_dir, progress)
    raise ValueError(f"unknown dedup level {name!r}")


# One level object per worker process and settings: a semantic level holds its model.
_levels: dict[str, Level] = {}


def cached_level(name: str, config: DedupConfig, cache_dir: str | None) -> Level:
    key = hash_json([name, config, cache_dir])
    level = _levels.get(key)
    if level is None:
        level = _levels[key] = make_level(name, config, Path(cache_dir) if cache_dir else None)
    return level


def release_levels() -> None:
    """Drop the cached levels (a semantic level's model) once a stage is done with them."""
    _levels.clear()
