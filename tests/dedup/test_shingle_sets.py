"""Shingle sets: their exact Jaccard against Python sets."""

from __future__ import annotations

import numpy as np

from pipeline.similarity.shingle_sets import ShingleSets, exact_jaccard


def random_sets(n: int, seed: int) -> ShingleSets:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 60, n)
    values = rng.integers(0, 90, sizes.sum()).astype(np.uint32)  # repeats within a document
    values[::7] = 0xFFFFFFFF  # the largest value is a real value too
    return ShingleSets(values, np.r_[0, np.cumsum(sizes)].astype(np.int64))


def python_sets(sets: ShingleSets) -> list[set[int]]:
    return [set(sets.values[sets.offsets[i]: sets.offsets[i + 1]].tolist()) for i in range(len(sets))]


def test_exact_jaccard_equals_python_sets_in_any_pair_order():
    sets = random_sets(300, 1)  # unsorted, with repeats: read as sets
    py = python_sets(sets)
    pairs = np.random.default_rng(2).integers(0, 300, (4000, 2))
    expected = [len(py[a] & py[b]) / len(py[a] | py[b]) if py[a] | py[b] else 0.0 for a, b in pairs.tolist()]
    assert np.array_equal(exact_jaccard(sets, pairs), np.array(expected, np.float32))
