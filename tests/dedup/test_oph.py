"""One-permutation hashing with densification: the same estimator as K permutations, stable
signatures, empty texts still empty, and a near level run with it."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.similarity.minhash import MinHasher, is_empty
from pipeline.similarity.oph import OnePermutationHasher
from tests.dedup.helpers import doc, kept_ids, rejected, run_level


def grams(t: str) -> set[str]:
    return {t[i:i + 5] for i in range(max(len(t) - 4, 1))}


def pairs_with_known_jaccard(n: int = 600, seed: int = 0):
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    a = [" ".join(rng.choice(vocab) for _ in range(rng.randrange(3, 300))) for _ in range(n)]
    b = []
    for t in a:
        w = t.split()
        for _ in range(max(1, int(len(w) * rng.uniform(0, 0.5)))):
            w[rng.randrange(len(w))] = rng.choice(vocab)
        b.append(" ".join(w))
    jac = np.array([len(grams(x) & grams(y)) / len(grams(x) | grams(y)) for x, y in zip(a, b)])
    return a, b, jac


def test_estimate_error_matches_k_permutations():
    a, b, jac = pairs_with_known_jaccard()
    errors = {}
    for hasher in (MinHasher(128, 5, "char", 1), OnePermutationHasher(128, 5, "char", 1)):
        est = (hasher.signatures(a) == hasher.signatures(b)).mean(axis=1)
        errors[type(hasher).__name__] = est - jac
    theory = np.sqrt((jac * (1 - jac) / 128).mean())
    for err in errors.values():
        assert abs(err.mean()) < 3 * theory / np.sqrt(len(jac)) + 0.003  # unbiased, up to sampling
        assert np.sqrt((err ** 2).mean()) < 1.15 * theory
    # Short texts leave most bins empty before densification; they are estimated as well.
    short = jac[[len(t) < 60 for t in a]]
    assert len(short) > 5


def test_signatures_are_stable_and_empty_texts_stay_empty():
    h = OnePermutationHasher(64, 5, "char", 7)
    texts = ["a short one", None, "", "!!!", "the same words in the same order, twice over"]
    sig = h.signatures(texts)
    assert is_empty(sig).tolist() == [False, True, True, True, False]
    assert (sig[0] != 0xFFFFFFFF).all()  # densified: no empty bin in a text with shingles
    again = OnePermutationHasher(64, 5, "char", 7).signatures(texts[::-1])[::-1]
    assert np.array_equal(sig, again)  # a pure function of text and seed, batch order aside
    assert not np.array_equal(sig, OnePermutationHasher(64, 5, "char", 8).signatures(texts))


def test_near_level_hashes_one_permutation_by_default(tmp_path):
    base = ("The quarterly report shows that revenue grew by twelve percent while operating costs stayed "
            "flat, and the board expects the new product line to reach customers in the spring.")
    rows = [doc(base), doc(base.replace("twelve", "eleven"), source="b"), doc("nothing alike at all here")]
    out = run_level(tmp_path, "near", rows)
    assert kept_ids(out) == [rows[0]["id"], rows[2]["id"]]
    assert rejected(out)[rows[1]["id"]]["similarity"] >= 0.7
    # An index made with one scheme is refused by a run of the other.
    with pytest.raises(ValueError, match="same settings"):
        run_level(tmp_path / "other", "near", [doc("x y z")], against=[str(out.path)],
                  near={"hashing": "permutations"})


@pytest.mark.parametrize("unit, n", [("char", 5), ("word", 3), ("char", 1)])
def test_the_torch_path_gives_the_numpy_signatures_and_shingles(unit, n):
    """The GPU path (oph_device) run on the CPU: the same bits as the numpy path, texts shorter
    than n units, empty texts and a NUL inside a text included."""
    from pipeline.similarity.oph_device import sketch_window

    a, b, _ = pairs_with_known_jaccard(200)
    texts = a + b + ["", None, "ab", "x y", "!!!", "Ünïcödé текст 中文 test", "nul\x00inside the text"]
    hasher = OnePermutationHasher(128, n, unit, 5)
    expected = hasher.sketch(texts, keep_shingles=True)
    units, lengths = hasher.shingler.units(texts)
    got = sketch_window(units, lengths, n, hasher.shingler.salt, hasher._probe, "cpu")
    for e, g in zip(expected, got):
        assert np.array_equal(e, g)


def test_near_device_resolves_without_a_gpu():
    from pipeline.similarity.oph_device import resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="near.device"):
            resolve_device("cuda")


@pytest.mark.gpu
def test_signatures_on_the_gpu_equal_the_cpu_ones():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    a, b, _ = pairs_with_known_jaccard(2000)
    cpu = OnePermutationHasher(128, 5, "char", 1).sketch(a + b, keep_shingles=True)
    gpu = OnePermutationHasher(128, 5, "char", 1, device="cuda").sketch(a + b, keep_shingles=True)
    for c, g in zip(cpu, gpu):
        assert np.array_equal(c, g)
