"""Compiled loops (numba) for the per-shingle and per-pair work of near-duplicate detection.

The numpy formulations of these loops made one pass over the data per operation (polynomial
step, mix, bin, minimum, densification probe; sort, compare, search) and spent most of their
time on temporaries. Here each document, or each pair, is handled in one loop with values in
registers, with the same arithmetic as `shingling` (n-gram polynomial, splitmix64, still in
numpy for MinHasher's permutations) and as `oph` describes (bins, values, densification):
tests/dedup/test_kernels.py checks every value against a plain-Python statement of them, so
signatures and shingle sets persisted by earlier runs stay comparable.

Compiled code is cached beside this module (numba's ``cache=True``), so only the first process
after an install compiles (about a second per kernel); every later one loads it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_U = np.uint64
_POLY = _U(0x9E3779B97F4A7C15)  # shingling._POLY
_M1, _M2 = _U(0xBF58476D1CE4E5B9), _U(0x94D049BB133111EB)  # shingling.mix64
_LOW32 = _U(0xFFFFFFFF)
_EMPTY = np.uint32(0xFFFFFFFF)  # minhash.MAX_HASH: an empty bin


@njit(cache=True, nogil=True, inline="always")
def _mix(x):
    x ^= x >> _U(30)
    x *= _M1
    x ^= x >> _U(27)
    x *= _M2
    return x ^ (x >> _U(31))


@njit(cache=True, nogil=True)
def char_units(points, word, docs, salt):
    """The unit hash of every character of the batch (code points `points`, documents separated
    by 0, `word` marking ``\\w``): the word characters, with one space between consecutive words
    of a document; and each document's count (shingling.char_units)."""
    units = np.empty(len(points), np.uint64)
    lengths = np.zeros(docs, np.int64)
    space = _mix(_U(32) ^ salt)
    d, at = 0, 0
    seen, gap = False, False  # a word of this document seen; a non-word character since it
    for i in range(len(points)):
        c = points[i]
        if c == 0:
            d += 1
            seen, gap = False, False
        elif word[i]:
            if gap:
                units[at] = space
                at += 1
                lengths[d] += 1
                gap = False
            units[at] = _mix(_U(c) ^ salt)
            at += 1
            lengths[d] += 1
            seen = True
        elif seen:
            gap = True
    return units[:at].copy(), lengths


@njit(cache=True, nogil=True)
def word_units(points, word, docs, poly):
    """A hash of every ``\\w+`` run (the sum of code point * poly^(position + 1), mixed), and each
    document's count of them (shingling.word_units)."""
    units = np.empty(len(points), np.uint64)
    per_doc = np.zeros(docs, np.int64)
    d, at = 0, 0
    acc, power, inside = _U(0), _U(1), False
    for i in range(len(points) + 1):
        w = i < len(points) and word[i]
        if w:
            if not inside:
                acc, power, inside = _U(0), _U(1), True
            power *= poly
            acc += _U(points[i]) * power
        elif inside:
            units[at] = _mix(acc)
            at += 1
            per_doc[d] += 1
            inside = False
        if i < len(points) and points[i] == 0:
            d += 1
    return units[:at].copy(), per_doc


@njit(cache=True, nogil=True)
def oph_sketch(units, lengths, n, salt, probe, keep, sig, top):
    """One-permutation signatures of consecutive documents from their unit hashes, written into
    `sig` (documents x bins, filled with _EMPTY); with `keep`, the top 32 bits of every shingle
    hash into `top` (documents in order, repeats kept).

    A document of at least n units has a shingle per start, one of 1..n-1 units a single
    shingle of all its units (shingling.ngrams); each is salted and mixed, its top 32 bits
    (Lemire's reduction) choose a bin, its low 32 bits are the value. Empty bins of a document
    with shingles are then densified from the first non-empty bin of their probe sequence,
    read from the bins as hashed (oph's module docstring)."""
    k = sig.shape[1]
    kk = _U(k)
    lead = _U(1)  # P^(n-1): the weight of a window's first unit (wrapping, as the polynomial)
    for _ in range(n - 1):
        lead *= _POLY
    hashed = np.empty(k, np.uint32)
    start = 0
    out = 0
    for d in range(len(lengths)):
        length = lengths[d]
        row = sig[d]
        shingles = length - n + 1 if length >= n else min(length, 1)
        width = n if length >= n else length
        acc = _U(0)
        for j in range(width):
            acc = acc * _POLY + units[start + j]
        for s in range(shingles):
            if s > 0:  # roll the window: drop the first unit's term, add the next unit
                acc = (acc - units[start + s - 1] * lead) * _POLY + units[start + s + n - 1]
            h = _mix(acc ^ salt)
            hi = h >> _U(32)
            b = (hi * kk) >> _U(32)
            v = np.uint32(min(h & _LOW32, _LOW32 - _U(1)))
            if v < row[b]:
                row[b] = v
            if keep:
                top[out] = np.uint32(hi)
            out += 1
        start += length
        if shingles > 0:
            hashed[:] = row
            for i in range(k):
                if hashed[i] == _EMPTY:
                    for t in range(k):
                        v = hashed[probe[i, t]]
                        if v != _EMPTY:
                            row[i] = v
                            break


@njit(cache=True, nogil=True)
def pair_jaccard(values, offsets, pairs):
    """float32 |A & B| / |A | B| of the shingle sets of each pair's rows, read as stored
    (unsorted, repeats kept); two empty sets score 0.

    Per pair, the values of both rows go into one open-addressing table marked by side (values
    are already uniform hashes: their low bits are the slot); a value counts once per side, and
    once as shared when both sides hold it. No sort: measured 3x faster than sorting each row
    and merging. Slots are reset by a generation stamp, not cleared."""
    longest = 0
    for p in range(len(pairs)):
        size = offsets[pairs[p, 0] + 1] - offsets[pairs[p, 0]] + offsets[pairs[p, 1] + 1] - offsets[pairs[p, 1]]
        longest = max(longest, size)
    cap = 16
    while cap < 2 * longest:
        cap *= 2
    mask = _U(cap - 1)
    slot_value = np.empty(cap, np.uint32)
    slot_side = np.zeros(cap, np.uint8)  # 1: first row, 2: second, 3: both
    stamp = np.zeros(cap, np.int64)
    out = np.zeros(len(pairs), np.float32)
    for p in range(len(pairs)):
        gen = p + 1
        distinct = 0
        shared = 0
        for side in range(2):
            row = pairs[p, side]
            bit = np.uint8(side + 1)
            for i in range(offsets[row], offsets[row + 1]):
                v = values[i]
                at = _U(v) & mask
                while stamp[at] == gen and slot_value[at] != v:
                    at = (at + _U(1)) & mask
                if stamp[at] != gen:
                    stamp[at] = gen
                    slot_value[at] = v
                    slot_side[at] = bit
                    distinct += 1
                elif slot_side[at] != bit and slot_side[at] != 3:
                    slot_side[at] = 3
                    shared += 1
        if distinct > 0:
            out[p] = shared / distinct
    return out
