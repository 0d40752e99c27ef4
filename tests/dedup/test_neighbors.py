"""Cosine neighbour search: blocked exact products against brute force, and the k-means path."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.dedup.neighbors import cross_similar_pairs, kmeans, similar_pairs


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def planted(n: int, n_dup: int, *, d: int = 64, noise: float = 0.2, seed: int = 0):
    """Random unit rows, n_dup of them replaced by noisy copies (cosine ~0.98) of others."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    src, dst = np.split(rng.choice(n, 2 * n_dup, replace=False), 2)
    x[dst] = unit(x[src]) + noise * rng.standard_normal((n_dup, d)) / np.sqrt(d)
    return unit(x), {tuple(sorted(p)) for p in zip(src.tolist(), dst.tolist())}


def brute_force(x: np.ndarray, threshold: float) -> dict[tuple[int, int], float]:
    sims = x @ x.T
    i, j = np.nonzero(np.triu(sims >= threshold, k=1))
    return {(a, b): sims[a, b] for a, b in zip(i.tolist(), j.tolist())}


def as_dict(pairs: np.ndarray, sims: np.ndarray) -> dict[tuple[int, int], float]:
    return {(int(a), int(b)): float(s) for (a, b), s in zip(pairs, sims)}


@pytest.mark.parametrize("block", [64, 4096])
def test_exact_path_equals_brute_force(block):
    x, plants = planted(500, 40)
    pairs, sims, counters = similar_pairs(x, 0.9, block=block)
    assert pairs.dtype == np.int64 and sims.dtype == np.float32
    expected = brute_force(x, 0.9)
    got = as_dict(pairs, sims)
    assert got.keys() == expected.keys() and plants <= got.keys()
    assert all(abs(got[p] - expected[p]) < 1e-5 for p in got)
    assert np.all(pairs[:, 0] < pairs[:, 1])
    assert counters == {"semantic:clusters": 0, "semantic:boundary_rows": 0, "semantic:comparisons": 500 * 499 // 2,
                        "semantic:largest_cluster": 500, "semantic:pairs": len(expected)}


def test_valid_mask_keeps_rows_out_and_indices_stay_rows_of_emb():
    x, plants = planted(300, 30)
    valid = np.ones(300, dtype=bool)
    valid[::2] = False
    pairs, _, _ = similar_pairs(x, 0.9, valid=valid, block=32)
    expected = {p for p in brute_force(x, 0.9) if valid[p[0]] and valid[p[1]]}
    assert {tuple(p) for p in pairs.tolist()} == expected
    assert expected  # some planted pairs join two odd rows


def test_identical_rows_meet_threshold_one():
    x = unit(np.random.default_rng(1).standard_normal((5, 384)))
    x[3] = x[1]
    pairs, _, _ = similar_pairs(x, 1.0)
    assert pairs.tolist() == [[1, 3]]
    assert similar_pairs(x[:1], 0.9)[0].shape == (0, 2)


def test_clustered_path_finds_planted_pairs():
    x, plants = planted(2000, 100, d=128)
    pairs, sims, counters = similar_pairs(x, 0.9, cluster_above=200, cluster_size=100, block=64)
    found = {tuple(p) for p in pairs.tolist()}
    assert len(plants & found) / len(plants) >= 0.95
    assert found <= brute_force(x, 0.9).keys()  # nothing below the threshold
    assert counters["semantic:clusters"] == 20
    assert 0 < counters["semantic:boundary_rows"] < 2000 / 4  # rows near a border, compared in two clusters
    assert counters["semantic:comparisons"] < 2000 * 1999 // 2 / 5
    assert counters["semantic:pairs"] == len(pairs) and np.all(sims >= 0.9 - 1e-5)


def test_cross_pairs_equal_brute_force():
    rng = np.random.default_rng(2)
    a, b = unit(rng.standard_normal((130, 32))), unit(rng.standard_normal((210, 32)))
    b[[5, 77, 200]] = unit(a[[0, 9, 129]] + 0.05 * rng.standard_normal((3, 32)))
    pairs, sims = cross_similar_pairs(a, b, 0.8, block=50)
    full = a @ b.T
    i, j = np.nonzero(full >= 0.8)
    assert pairs.tolist() == sorted([a, b] for a, b in zip(i.tolist(), j.tolist()))
    np.testing.assert_allclose(sims, full[i, j], atol=1e-5)
    assert {(0, 5), (9, 77), (129, 200)} <= {tuple(p) for p in pairs.tolist()}


def test_kmeans_recovers_separated_blobs():
    rng = np.random.default_rng(3)
    centers = unit(rng.standard_normal((4, 32)))
    truth = rng.integers(0, 4, 800)
    x = unit(centers[truth] + 0.05 * rng.standard_normal((800, 32)))
    centroids, assign = kmeans(x, 4, sample=400, seed=0)
    assert centroids.shape == (4, 32) and assign.dtype == np.int64 and assign.shape == (800,)
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-5)
    # Each blob lands in one cluster and each cluster holds one blob.
    assert len({(t, a) for t, a in zip(truth.tolist(), assign.tolist())}) == 4


@pytest.mark.gpu
def test_cuda_fp16_search_equals_cpu():
    x, plants = planted(3000, 100, d=384)
    cpu = similar_pairs(x, 0.9)
    gpu = similar_pairs(x, 0.9, device="cuda")
    assert cpu[0].tolist() == gpu[0].tolist()
    np.testing.assert_allclose(cpu[1], gpu[1], atol=1e-4)
    cross_cpu = cross_similar_pairs(x[:1000], x[1000:], 0.9)
    assert cross_cpu[0].tolist() == cross_similar_pairs(x[:1000], x[1000:], 0.9, device="cuda")[0].tolist()
    clustered = similar_pairs(x, 0.9, device="cuda", cluster_above=1000, cluster_size=300)[0]
    assert len(plants & {tuple(p) for p in clustered.tolist()}) / len(plants) >= 0.95
