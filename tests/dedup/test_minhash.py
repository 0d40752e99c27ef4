"""MinHash signatures and LSH candidate generation (pipeline/dedup/minhash.py, lsh.py)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.similarity import minhash as mh
from pipeline.similarity import shingling
from pipeline.similarity.lsh import (
    EMPTY_KEY,
    band_keys,
    candidate_pairs,
    cross_candidate_pairs,
    estimated_jaccard,
    near_duplicate_pairs,
    optimal_bands,
)
from pipeline.similarity.minhash import MinHasher, is_empty

PARAGRAPH = (
    "The committee met on Tuesday to review the budget for the coming year. Several members "
    "raised concerns about the cost of the new building, which has risen sharply since the "
    "original estimate was made. The chair proposed a smaller design that keeps the library "
    "and the meeting rooms but drops the second floor of offices. After a long discussion the "
    "members agreed to ask the architects for a revised plan and to vote again next month. "
    "In the meantime the treasurer will prepare a report on how the savings could be used to "
    "repair the roads near the school and to extend the opening hours of the swimming pool. "
    "Residents who wish to comment can write to the council or attend the public meeting."
).split()
VOCAB = sorted(set(w.strip(".,").lower() for w in PARAGRAPH))


def edited(rng: random.Random, words: list[str], edits: int) -> str:
    """The words with `edits` random insertions, deletions or substitutions."""
    out = list(words)
    for _ in range(edits):
        op, at = rng.choice("ids"), rng.randrange(len(out))
        if op == "i":
            out.insert(at, rng.choice(VOCAB))
        elif op == "d" and len(out) > 5:
            del out[at]
        else:
            out[at] = rng.choice(VOCAB)
    return " ".join(out)


def exact_jaccard(hasher: MinHasher, a: str, b: str) -> float:
    sa, sb = hasher.shingles(a), hasher.shingles(b)
    return len(np.intersect1d(sa, sb)) / len(np.union1d(sa, sb))


def components(pairs: np.ndarray, n: int) -> np.ndarray:
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


TEXTS = [" ".join(PARAGRAPH), "Hello, world!", "a b", None, "", "x" * 50, "Grüße aus Köln, ΣΊΣΥΦΟΣ"]


def test_signatures_are_stable_across_processes():
    here = MinHasher(num_perm=64, seed=7).signatures(TEXTS)
    code = (
        "import sys; from pipeline.similarity.minhash import MinHasher; "
        f"sys.stdout.write(MinHasher(num_perm=64, seed=7).signatures({TEXTS!r}).tobytes().hex())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # a different str hash salt than this process
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert here.dtype == np.uint32 and here.shape == (len(TEXTS), 64)
    assert bytes.fromhex(done.stdout) == here.tobytes()


def test_batch_equals_one_by_one_and_chunking_does_not_matter(monkeypatch):
    hasher = MinHasher(num_perm=32)
    batch = hasher.signatures(TEXTS)
    single = np.vstack([hasher.signatures([t]) for t in TEXTS])
    assert np.array_equal(batch, single)
    monkeypatch.setattr(mh, "_BLOCK_BYTES", 8 * 32 * 3)  # 3 shingles a block: documents straddle blocks
    assert np.array_equal(batch, hasher.signatures(TEXTS))
    monkeypatch.setattr(shingling, "BATCH_CHARS", 20)  # runs of a few texts
    assert np.array_equal(batch, hasher.signatures(TEXTS))


def test_estimated_jaccard_tracks_exact_jaccard():
    rng = random.Random(0)
    hasher = MinHasher(num_perm=256)
    pairs_text = []
    for _ in range(200):
        words = PARAGRAPH[rng.randrange(40) :][: rng.randint(30, 90)]
        pairs_text.append((" ".join(words), edited(rng, words, rng.randint(0, 12))))
    sig = hasher.signatures([t for pair in pairs_text for t in pair])
    pairs = np.arange(len(sig)).reshape(-1, 2)
    est = estimated_jaccard(sig, sig, pairs)
    exact = np.array([exact_jaccard(hasher, a, b) for a, b in pairs_text])
    err = est - exact
    assert exact.min() < 0.4 and exact.max() == 1.0  # the edits cover the range
    assert np.mean(np.abs(err) <= 0.1) >= 0.98 and np.abs(err).mean() < 0.03
    assert abs(err.mean()) < 0.01  # unbiased


def test_identical_texts_are_candidates_and_unrelated_ones_are_not():
    rng = random.Random(1)
    distinct = [" ".join(rng.choices(VOCAB, k=40)) for _ in range(300)]
    texts = distinct + distinct[:50]  # rows 300..349 repeat rows 0..49
    sig = MinHasher().signatures(texts)
    pairs, sims = near_duplicate_pairs(sig, 0.7)
    expected = {(i, 300 + i) for i in range(50)}
    assert expected <= set(map(tuple, pairs.tolist()))
    assert np.all(sims[[tuple(p) in expected for p in pairs.tolist()]] == 1.0)
    bands, rows = optimal_bands(0.7, 128)
    candidates = candidate_pairs(band_keys(sig, bands, rows))
    assert len(candidates) - len(expected) <= 5  # random 40-word texts share almost no 3-grams


def test_empty_texts_are_never_candidates():
    texts = [None, "", "!!! ...", "  ", None, "real text with enough words here", "real text with enough words here"]
    for unit in ("word", "char"):
        sig = MinHasher(unit=unit).signatures(texts)
        assert is_empty(sig).tolist() == [True] * 5 + [False] * 2
        keys = band_keys(sig, 16, 8)
        assert np.all(keys[:5] == EMPTY_KEY) and np.all(keys[5:] != EMPTY_KEY)
        assert candidate_pairs(keys).tolist() == [[5, 6]]
        assert cross_candidate_pairs(keys, keys).tolist() == [[5, 5], [5, 6], [6, 5], [6, 6]]
        assert estimated_jaccard(sig, sig, np.array([[0, 1], [0, 5]])).tolist() == [0.0, 0.0]


def test_valid_mask_excludes_rows():
    sig = MinHasher().signatures(["same words in every row here"] * 4)
    keys = band_keys(sig, 16, 8)
    assert len(candidate_pairs(keys)) == 6
    assert candidate_pairs(keys, valid=np.array([True, False, True, True])).tolist() == [[0, 2], [0, 3], [2, 3]]


def test_words_are_python_regex_words():
    text = "Ça coûte 12,50€ — l'été_2024! Grüße; naïve café (ΣΊΣΥΦΟΣ) 東京 x\ty\u00a0z 'q' \x00nul"
    hasher = MinHasher(ngram=2)
    assert np.array_equal(hasher.shingles(text), hasher.shingles(" ".join(re.findall(r"\w+", text.lower()))))
    assert len(hasher.shingles(text)) == len(re.findall(r"\w+", text)) - 1


def test_units_and_short_texts():
    word, char = MinHasher(unit="word"), MinHasher(unit="char", ngram=5)
    # Fewer than n units: one shingle of everything; order still matters.
    assert len(word.shingles("hello world")) == 1 and len(char.shingles("abc")) == 1
    assert not np.array_equal(word.shingles("hello world"), word.shingles("world hello"))
    # Case and punctuation do not count in either unit.
    for hasher in (word, char):
        assert np.array_equal(hasher.shingles("Hello, World!"), hasher.shingles("hello world"))
    # A few typos break whole words but only a few character 5-grams.
    text = " ".join(PARAGRAPH[:40])
    typos = text.replace("committee", "comittee").replace("budget", "budgte").replace("members", "membres")
    assert exact_jaccard(char, text, typos) > 0.8 > exact_jaccard(word, text, typos) + 0.1
    assert len(char.shingles("abcdefg")) == 3 and len(MinHasher(ngram=1).shingles("a b a")) == 2


def test_optimal_bands_s_curve():
    bands, rows = optimal_bands(0.7, 128)
    assert bands * rows <= 128
    curve = lambda s: 1 - (1 - s**rows) ** bands  # noqa: E731
    assert curve(0.8) >= 0.9 and curve(0.4) <= 0.1
    for threshold in (0.3, 0.5, 0.9):
        b, r = optimal_bands(threshold, 64)
        assert b * r <= 64


def test_optimal_bands_matches_datasketch_with_its_weights():
    datasketch_lsh = pytest.importorskip("datasketch.lsh")
    for threshold in (0.5, 0.7, 0.85):
        assert optimal_bands(threshold, 128, (0.5, 0.5)) == datasketch_lsh._optimal_param(threshold, 128, 0.5, 0.5)


def test_large_bucket_is_windowed_but_connected():
    sig = MinHasher().signatures(["the same boilerplate footer of a mailing list"] * 500)
    pairs = candidate_pairs(band_keys(sig, 16, 8), max_bucket=64)
    assert np.all(pairs[:, 0] < pairs[:, 1]) and len(np.unique(pairs, axis=0)) == len(pairs)
    assert len(pairs) <= 500 * 64 < 500 * 499 // 2
    assert len(np.unique(components(pairs, 500))) == 1
    small = candidate_pairs(band_keys(sig[:64], 16, 8), max_bucket=64)
    assert len(small) == 64 * 63 // 2  # a bucket within the limit yields all its pairs


def test_cross_pairs_only_join_the_two_sets():
    rng = random.Random(2)
    base = [" ".join(rng.choices(VOCAB, k=30)) for _ in range(20)]
    a_texts = base[:10] + base[:10]  # duplicates inside a
    b_texts = base[5:15] + base[5:15]  # and inside b; base[5:10] is shared
    hasher = MinHasher()
    keys_a, keys_b = band_keys(hasher.signatures(a_texts), 16, 8), band_keys(hasher.signatures(b_texts), 16, 8)
    got = {tuple(p) for p in cross_candidate_pairs(keys_a, keys_b).tolist()}
    want = {(i, j) for i in range(20) for j in range(20) if a_texts[i] == b_texts[j]}
    assert got == want
    # Large buckets: every row of either side meets min(other side, max_bucket) rows of the other.
    many = band_keys(hasher.signatures([base[0]] * 300), 16, 8)
    assert cross_candidate_pairs(keys_a[:1], many, max_bucket=64).tolist() == [[0, j] for j in range(300)]
    both = cross_candidate_pairs(many, many[:200], max_bucket=64)
    assert 300 * 64 <= len(both) <= 2 * 300 * 64 < 300 * 200
    assert np.bincount(both[:, 0], minlength=300).min() >= 64
    assert np.bincount(both[:, 1], minlength=200).min() >= 64


def test_bad_arguments_raise():
    sig = MinHasher(num_perm=16).signatures(["some text here"])
    bad = [
        lambda: MinHasher(num_perm=0),
        lambda: MinHasher(ngram=0),
        lambda: MinHasher(unit="byte"),  # type: ignore[arg-type]
        lambda: optimal_bands(1.0, 128),
        lambda: optimal_bands(0.0, 128),
        lambda: optimal_bands(0.5, 0),
        lambda: band_keys(sig, 5, 4),
        lambda: band_keys(sig, 0, 4),
        lambda: candidate_pairs(band_keys(sig, 4, 4), max_bucket=0),
        lambda: near_duplicate_pairs(sig, 1.5, 4, 4),
        lambda: near_duplicate_pairs(sig, 0.5, 4, None),
        lambda: estimated_jaccard(sig, MinHasher(num_perm=8).signatures(["x"]), np.array([[0, 0]])),
    ]
    for call in bad:
        with pytest.raises(ValueError):
            call()
