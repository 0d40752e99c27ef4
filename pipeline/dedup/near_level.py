"""The near-duplicate level: MinHash signatures (one-permutation by default), LSH banding for
candidates, each candidate decided on the exact Jaccard of its shingle sets (or on the MinHash
estimate, `near.verify: estimate`), within the input and against reference sets and earlier
datasets."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.level_base import Level, Pairs, _empty_pairs

# LSH buckets of up to this many rows are paired all at once, vectorised over every bucket of
# a partition (at most 2,016 pairs each); larger ones one by one (NearLevel.partition_pairs).
_SMALL_BUCKET = 64
# Against a reference set or an earlier dataset, each row meets this many rows of a shared
# bucket on the other side: enough to find a match where the other side holds many copies.
_CROSS_WINDOW = 64


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
        both = concat([a_sets.take(rows_a), b_sets.take(rows_b)])
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
        out[lo: lo + len(part)] = exact_jaccard(sets.take(rows), np.searchsorted(rows, part))
    return out
