"""LSH banding over MinHash signatures: candidate pairs by shared band keys, verified by estimated Jaccard.

Everything is vectorised per band: a band's keys are sorted once and runs of equal keys are the
buckets. A bucket of at most ``max_bucket`` rows yields all its pairs; a larger one (boilerplate,
templates) yields each row paired with the next ``max_bucket`` rows in row order, a sliding
window that still chains the whole bucket into one connected component while the number of
pairs stays linear in its size instead of quadratic.

Rows whose signature is empty (a text without shingles) get the reserved band key ``EMPTY_KEY``
and are skipped by every candidate generator, so they are never paired, not even with each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from pipeline.similarity.minhash import MAX_HASH, is_empty
from pipeline.similarity.shingling import arange_within, mix64

EMPTY_KEY = np.uint64(0)
_POLY = np.uint64(0xD6E8FEB86659FD93)  # odd multiplier of the band polynomial
_QUAD_NODES, _QUAD_WEIGHTS = np.polynomial.legendre.leggauss(48)
_QUAD_PIECES = 16  # composite Gauss-Legendre: the S-curve is steep for many rows
# Weights of the false-positive and false-negative probability mass in optimal_bands. Candidates
# are verified afterwards, so a false positive costs one vectorised comparison while a false
# negative is a duplicate lost for good: misses weigh three times as much. (datasketch uses
# 0.5/0.5, which for 0.7 and 128 permutations gives 14x9 and finds only 87% of pairs at 0.8.)
DEFAULT_WEIGHTS = (0.25, 0.75)


def _check_threshold(threshold: float) -> None:
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")


def _check_layout(bands: int, rows: int, num_perm: int) -> None:
    if bands < 1 or rows < 1:
        raise ValueError(f"bands and rows must be >= 1, got {bands} x {rows}")
    if bands * rows > num_perm:
        raise ValueError(f"bands x rows = {bands * rows} exceeds num_perm {num_perm}")


def _check_bucket(max_bucket: int) -> None:
    if max_bucket < 1:
        raise ValueError(f"max_bucket must be >= 1, got {max_bucket}")


def _integral(f, lo: float, hi: float) -> np.ndarray:
    """Composite Gauss-Legendre integral over [lo, hi] of f(s), vectorised over f's other axes."""
    edges = np.linspace(lo, hi, _QUAD_PIECES + 1)
    half = np.diff(edges)[:, None] / 2
    s = (edges[:-1, None] + half + half * _QUAD_NODES).ravel()
    return f(s) @ np.tile(_QUAD_WEIGHTS, _QUAD_PIECES) * half[0, 0]


@lru_cache(maxsize=256)
def optimal_bands(
    threshold: float, num_perm: int, weights: tuple[float, float] = DEFAULT_WEIGHTS
) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm minimising the weighted FP + FN probability mass.

    As datasketch's ``_optimal_param``: P(candidate | Jaccard s) = 1 - (1 - s^r)^b, false
    positives are its integral over [0, threshold], false negatives the integral of its
    complement over [threshold, 1]. All layouts are scored at once.
    """
    _check_threshold(threshold)
    if num_perm < 1:
        raise ValueError(f"num_perm must be >= 1, got {num_perm}")
    b = np.concatenate([np.full(num_perm // k, k) for k in range(1, num_perm + 1)])
    r = arange_within(num_perm // np.arange(1, num_perm + 1)) + 1
    b_, r_ = b[:, None].astype(float), r[:, None].astype(float)
    fp = _integral(lambda s: 1 - (1 - s**r_) ** b_, 0.0, threshold)
    fn = _integral(lambda s: (1 - s**r_) ** b_, threshold, 1.0)
    best = int(np.argmin(weights[0] * fp + weights[1] * fn))  # first minimum, datasketch's order
    return int(b[best]), int(r[best])


@lru_cache(maxsize=256)
def recall_bands(threshold: float, num_perm: int, recall: float = 0.985) -> tuple[int, int]:
    """(bands, rows) that make a pair at the threshold a candidate with probability >= `recall`,
    with the least false-positive mass below it, then as many bands of those rows as the
    signature holds (the signature is computed anyway; more bands only add recall).

    For exact verification: a candidate costs one comparison of two shingle sets, a pair never
    proposed is lost, so the layout is chosen for recall at the threshold (25 x 5 for 0.7 and
    128 permutations, a pair at exactly 0.7 proposed with probability 0.990, against 18 x 7
    from `optimal_bands`, 0.79). Falls back to `optimal_bands` when no layout reaches `recall`.
    """
    _check_threshold(threshold)
    b = np.concatenate([np.full(num_perm // k, k) for k in range(1, num_perm + 1)])
    r = arange_within(num_perm // np.arange(1, num_perm + 1)) + 1
    at_threshold = 1 - (1 - threshold ** r.astype(float)) ** b
    ok = np.flatnonzero(at_threshold >= recall)
    if not len(ok):
        return optimal_bands(threshold, num_perm)
    b_, r_ = b[ok, None].astype(float), r[ok, None].astype(float)
    fp = _integral(lambda s: 1 - (1 - s**r_) ** b_, 0.0, threshold)
    best = ok[int(np.argmin(fp))]
    return num_perm // int(r[best]), int(r[best])


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 key of each band: a polynomial of its ``rows`` values, then mixed.

    Empty signatures get ``EMPTY_KEY`` in every band; a real key equal to it moves to 1.
    """
    sig = np.asarray(signatures, dtype=np.uint32)
    if sig.ndim != 2:
        raise ValueError(f"signatures must be 2-D, got shape {sig.shape}")
    _check_layout(bands, rows, sig.shape[1])
    cut = sig[:, : bands * rows].reshape(len(sig), bands, rows)
    keys = np.zeros((len(sig), bands), np.uint64)
    for k in range(rows):
        keys *= _POLY
        keys += cut[:, :, k]
    keys = mix64(keys)
    keys[keys == EMPTY_KEY] = np.uint64(1)
    keys[is_empty(sig)] = EMPTY_KEY
    return keys


def _sorted_band(keys: np.ndarray, band: int, valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Row ids of one band ordered by key (stable, so equal keys stay in row order), and the keys."""
    ok = keys[:, band] != EMPTY_KEY
    if valid is not None:
        ok &= valid
    rows = np.flatnonzero(ok)
    order = np.argsort(keys[rows, band], kind="stable")
    return rows[order], keys[rows[order], band]


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct keys of a sorted array, where each run starts, and its length."""
    if not len(sorted_keys):
        empty = np.zeros(0, np.int64)
        return sorted_keys[:0], empty, empty
    start = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return sorted_keys[start], start, np.diff(np.r_[start, len(sorted_keys)])


def window_pairs(sorted_keys: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (p, q), p < q, of equal keys with q - p <= window: every pair of a bucket of
    at most window + 1 rows, a sliding window in a larger bucket."""
    _, start, length = _runs(sorted_keys)
    start, length = start[length > 1], length[length > 1]
    pos = np.repeat(start, length) + arange_within(length)
    end = np.repeat(start + length, length)
    fan = np.minimum(window, end - pos - 1)
    first = np.repeat(pos, fan)
    return first, first + 1 + arange_within(fan)


def bucket_pairs(keys: np.ndarray, rows: np.ndarray, n: int, max_bucket: int) -> np.ndarray:
    """(m, 2) distinct row pairs i < j of rows sharing a key (rows numbered below n): all pairs
    of a bucket of up to max_bucket + 1 rows, each row with the next max_bucket rows of a
    larger one. Keys may repeat a row (one record in several bands): it is never its own pair."""
    order = np.lexsort((rows, keys))  # by key, then row: a bucket's rows in input order
    keys, rows = keys[order], rows[order]
    p, q = window_pairs(keys, max_bucket)
    a, b = rows[p], rows[q]
    distinct = a != b
    codes = np.unique(a[distinct] * np.int64(n) + b[distinct])
    return _decode(codes, n)


def split_buckets(keys: np.ndarray, rows: np.ndarray, small: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """The entries of buckets of at most `small` rows (a mask), and the positions of each larger
    bucket's entries (rows ascending), from one partition's (key, row) entries."""
    order = np.lexsort((rows, keys))
    _, start, length = _runs(keys[order])
    in_small = np.zeros(len(keys), bool)
    in_small[order[np.repeat(length <= small, length)]] = True
    return in_small, [order[a: a + n] for a, n in zip(start[length > small].tolist(), length[length > small].tolist())]


def first_band_pairs(band_keys_of_rows: np.ndarray, band: int, tile: int = 1 << 18
                     ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every pair (i < j) of one bucket's rows whose first shared band is `band`, `tile` pairs
    at a time: a pair that shares several bands is emitted by its first band's bucket only, so a
    family of near-identical records yields each of its pairs once, not once per band. (All
    rows share `band`; a pair is dropped when it also shares an earlier one, compared band by
    band so a tile holds a few vectors, not a tile x bands matrix.)"""
    by_band = np.ascontiguousarray(np.asarray(band_keys_of_rows)[:, :band].T)
    m = len(band_keys_of_rows)
    i = 0
    while i < m - 1:
        # rows i..hi-1 pair with every later row: about `tile` pairs
        per_row = m - 1 - np.arange(i, m - 1)
        hi = i + max(1, int(np.searchsorted(np.cumsum(per_row), tile, side="right")))
        counts = m - 1 - np.arange(i, hi)
        a = np.repeat(np.arange(i, hi), counts)
        b = a + 1 + arange_within(counts)
        keep = np.ones(len(a), bool)
        for keys in by_band:
            keep &= keys[a] != keys[b]
        yield a[keep], b[keep]
        i = hi


def _union(found: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Sorted distinct pair codes so far; merged band by band to keep memory at the unique pairs."""
    return np.union1d(found, codes) if len(found) else np.unique(codes)


def _decode(codes: np.ndarray, width: int) -> np.ndarray:
    return np.stack([codes // width, codes % width], axis=1) if len(codes) else np.zeros((0, 2), np.int64)


def candidate_pairs(keys: np.ndarray, max_bucket: int = 64, valid: np.ndarray | None = None) -> np.ndarray:
    """(m, 2) int64 distinct pairs i < j of rows sharing a key in any band.

    ``valid`` (bool per row) excludes rows; rows with ``EMPTY_KEY`` are always excluded.
    """
    _check_bucket(max_bucket)
    keys = np.asarray(keys, dtype=np.uint64)
    n = len(keys)
    found = np.zeros(0, np.int64)
    for band in range(keys.shape[1]):
        rows, sorted_keys = _sorted_band(keys, band, valid)
        p, q = window_pairs(sorted_keys, max_bucket)
        found = _union(found, rows[p] * n + rows[q])  # stable sort: rows[p] < rows[q]
    return _decode(found, n)


def _cyclic_pairs(start_x, count_x, start_y, count_y, window: int) -> tuple[np.ndarray, np.ndarray]:
    """For buckets with count_x rows on one side and count_y on the other: each x row paired with
    min(count_y, window) y rows, the k-th x row starting at the k-th y row so a large y bucket is
    spread over the x rows rather than everyone meeting the same first few."""
    bucket = np.repeat(np.arange(len(start_x)), count_x)
    k = arange_within(count_x)
    fan = np.minimum(count_y, window)[bucket]
    first = np.repeat(start_x[bucket] + k, fan)
    b_rep, k_rep = np.repeat(bucket, fan), np.repeat(k, fan)
    return first, start_y[b_rep] + (k_rep + arange_within(fan)) % count_y[b_rep]


def cross_candidate_pairs(
    keys_a: np.ndarray,
    keys_b: np.ndarray,
    max_bucket: int = 64,
    valid_a: np.ndarray | None = None,
    valid_b: np.ndarray | None = None,
) -> np.ndarray:
    """(m, 2) int64 distinct pairs (i in a, j in b) sharing a key in any band; no a-a or b-b pairs.

    In a shared bucket every row of either side meets min(other side, max_bucket) rows of the
    other side, so each row still finds a match when the other side holds many copies, and the
    pairs stay linear in the bucket size.
    """
    _check_bucket(max_bucket)
    keys_a, keys_b = np.asarray(keys_a, dtype=np.uint64), np.asarray(keys_b, dtype=np.uint64)
    if keys_a.shape[1] != keys_b.shape[1]:
        raise ValueError(f"band counts differ: {keys_a.shape[1]} vs {keys_b.shape[1]}")
    nb = max(len(keys_b), 1)
    found = np.zeros(0, np.int64)
    for band in range(keys_a.shape[1]):
        rows_a, sorted_a = _sorted_band(keys_a, band, valid_a)
        rows_b, sorted_b = _sorted_band(keys_b, band, valid_b)
        ua, sa, ca = _runs(sorted_a)
        ub, sb, cb = _runs(sorted_b)
        _, xa, xb = np.intersect1d(ua, ub, assume_unique=True, return_indices=True)
        pa, pb = _cyclic_pairs(sa[xa], ca[xa], sb[xb], cb[xb], max_bucket)
        qb, qa = _cyclic_pairs(sb[xb], cb[xb], sa[xa], ca[xa], max_bucket)
        codes = np.concatenate([rows_a[pa] * nb + rows_b[pb], rows_a[qa] * nb + rows_b[qb]])
        found = _union(found, codes)
    return _decode(found, nb)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray, pairs: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """float32 fraction of equal signature positions of (sig_a[i], sig_b[j]) for each pair.

    Computed ``chunk`` signature values at a time so memory stays bounded for any number of
    pairs. A pair of two empty signatures scores 0, not 1: nothing was shared.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if sig_a.shape[1] != sig_b.shape[1]:
        raise ValueError(f"signature lengths differ: {sig_a.shape[1]} vs {sig_b.shape[1]}")
    perms = sig_a.shape[1]
    out = np.empty(len(pairs), np.float32)
    step = max(1, chunk // perms)
    for lo in range(0, len(pairs), step):
        a, b = sig_a[pairs[lo : lo + step, 0]], sig_b[pairs[lo : lo + step, 1]]
        equal = np.count_nonzero(a == b, axis=1)
        full = np.flatnonzero(equal == perms)  # only identical rows can be two empty ones
        equal[full[np.all(a[full] == MAX_HASH, axis=1)]] = 0
        out[lo : lo + step] = equal / np.float32(perms)
    return out


def near_duplicate_pairs(
    signatures: np.ndarray,
    threshold: float,
    bands: int | None = None,
    rows: int | None = None,
    max_bucket: int = 64,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Verified near duplicates: (pairs (m, 2) i < j, float32 similarities >= threshold).

    bands/rows default to ``optimal_bands(threshold, num_perm)``.
    """
    _check_threshold(threshold)
    if (bands is None) != (rows is None):
        raise ValueError("set bands and rows together, or neither")
    if bands is None or rows is None:
        bands, rows = optimal_bands(float(threshold), signatures.shape[1])
    pairs = candidate_pairs(band_keys(signatures, bands, rows), max_bucket, valid)
    sims = estimated_jaccard(signatures, signatures, pairs)
    keep = sims >= np.float32(threshold)
    return pairs[keep], sims[keep]
