"""The compiled loops (pipeline/similarity/kernels.py) against a plain-Python statement of the
same hashes, one text at a time: unit hashes of ``re``'s words, the n-gram polynomial, the salted
mix, one-permutation bins with densification. Persisted signatures and shingle sets of earlier
runs depend on these exact values."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from pipeline.similarity.minhash import MinHasher
from pipeline.similarity.oph import OnePermutationHasher

M64 = (1 << 64) - 1
WORD_POLY, POLY, CHAR_SALT = 0xC2B2AE3D27D4EB4F, 0x9E3779B97F4A7C15, 0x5851F42D4C957F2D
EMPTY = 0xFFFFFFFF


def mix(x: int) -> int:
    x ^= x >> 30
    x = x * 0xBF58476D1CE4E5B9 & M64
    x ^= x >> 27
    x = x * 0x94D049BB133111EB & M64
    return x ^ (x >> 31)


def units(text: str | None, unit: str) -> list[int]:
    words = re.findall(r"\w+", (text or "").lower())
    if unit == "word":
        return [mix(sum(ord(c) * pow(WORD_POLY, i + 1, 1 << 64) for i, c in enumerate(w)) & M64) for w in words]
    return [mix(ord(c) ^ CHAR_SALT) for c in " ".join(words)]


def shingles(text: str | None, unit: str, n: int, salt: int) -> list[int]:
    u = units(text, unit)
    spans = [u] if 0 < len(u) < n else [u[i: i + n] for i in range(len(u) - n + 1)]
    out = []
    for span in spans:
        acc = 0
        for v in span:
            acc = (acc * POLY + v) & M64
        out.append(mix(acc ^ salt))
    return out


def oph_row(hashes: list[int], k: int, probe: np.ndarray) -> list[int]:
    row = [EMPTY] * k
    for h in hashes:
        b = ((h >> 32) * k) >> 32
        row[b] = min(row[b], min(h & 0xFFFFFFFF, EMPTY - 1))
    if hashes:
        hashed = list(row)
        for i in range(k):
            if hashed[i] == EMPTY:
                row[i] = next(hashed[j] for j in probe[i].tolist() if hashed[j] != EMPTY)
    return row


def texts() -> list[str | None]:
    rng = random.Random(3)
    vocab = ["the", "a", "Über", "naïve", "café", "x", "東京", "ΣΊΣΥΦΟΣ", "l'été_2024", "12,50€", "q"]
    made = [" ".join(rng.choice(vocab) for _ in range(rng.randrange(0, 40))) + rng.choice(["", "!", " —", "\n"])
            for _ in range(60)]
    return made + ["", None, "!!!", "ab", "x y", "nul\x00inside", "tab\tand\u00a0nbsp", "İstanbul ǅ ß", "a" * 300]


@pytest.mark.parametrize("unit, n", [("char", 5), ("word", 3), ("char", 1), ("word", 1)])
def test_shingle_hashes_are_the_plain_python_ones(unit, n):
    batch = texts()
    hasher = MinHasher(16, n, unit, 1)
    got, counts = hasher.shingle_hashes(batch)
    expected = [shingles(t, unit, n, 0) for t in batch]
    assert counts.tolist() == [len(e) for e in expected]
    assert got.tolist() == [h for e in expected for h in e]


@pytest.mark.parametrize("unit, n, k", [("char", 5, 128), ("word", 3, 64), ("char", 2, 16)])
def test_one_permutation_sketch_is_the_plain_python_one(unit, n, k):
    batch = texts()
    hasher = OnePermutationHasher(k, n, unit, 9)
    sig, top, counts = hasher.sketch(batch, keep_shingles=True)
    expected = [shingles(t, unit, n, hasher.shingler.salt) for t in batch]
    assert sig.tolist() == [oph_row(e, k, hasher._probe) for e in expected]
    assert top.tolist() == [h >> 32 for e in expected for h in e]
    assert counts.tolist() == [len(e) for e in expected]
