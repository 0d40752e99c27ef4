"""The sentence encoder (real offline MiniLM on the CPU) and the on-disk embedding cache."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from pipeline.dedup.embed import Embedder, VectorCache, embed_cached, resolve_device
from pipeline.dedup.neighbors import similar_pairs

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PARAPHRASES = [
    ("How do I reset my password?", "What is the way to reset my password?"),
    ("What is the capital of France?", "Which city is the capital of France?"),
    ("The cat sat on the mat.", "A cat was sitting on the mat."),
]
UNRELATED = [
    "The recipe needs two cups of flour and a pinch of salt.",
    "Explain the difference between a list and a tuple in Python.",
    "Stock markets fell sharply after the central bank raised interest rates.",
]


def key(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(device="cpu")


class CountingEmbedder:
    """Deterministic fake vectors; records which texts were actually encoded."""

    dim = 8
    model_key = "fake|v1|seq8|fp32"

    def __init__(self):
        self.encoded: list[str] = []

    def encode(self, texts, progress=None):
        self.encoded += texts
        rows = [np.frombuffer(hashlib.blake2b(t.encode(), digest_size=32).digest(), np.uint8)[:8] for t in texts]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), 8) + 1
        if progress:
            progress(len(texts))
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_paraphrases_score_high_unrelated_low(embedder):
    texts = [t for pair in PARAPHRASES for t in pair] + UNRELATED
    emb = embedder.encode(texts)
    sims = emb @ emb.T
    paraphrase = [(2 * p, 2 * p + 1) for p in range(len(PARAPHRASES))]
    assert min(sims[i, j] for i, j in paraphrase) > 0.9
    others = [sims[i, j] for i in range(len(texts)) for j in range(i + 1, len(texts)) if (i, j) not in paraphrase]
    assert max(others) < 0.5
    pairs, _, _ = similar_pairs(emb, 0.85)
    assert [tuple(p) for p in pairs.tolist()] == paraphrase


def test_encode_unit_float32_rows_in_input_order(embedder):
    # Lengths deliberately out of order and small batches (3 texts, ~40 tokens), so the internal
    # length sort and token budget matter.
    texts = ["short", "a considerably longer sentence about the weather in spring and autumn", "mid length text",
             "", "x " * 40, "How do I reset my password?", "tiny"]
    small = Embedder(device="cpu", batch_size=3, max_batch_tokens=40)
    chars = np.array([len(t) for t in texts])
    order = np.argsort(-chars, kind="stable")
    assert [len(b) for b in small._batches(chars[order], order)] == [1, 1, 3, 2]
    emb = small.encode(texts)
    assert emb.dtype == np.float32 and emb.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    one_by_one = np.concatenate([embedder.encode([t]) for t in texts])
    assert np.all(np.sum(emb * one_by_one, axis=1) > 0.9999)
    assert embedder.encode([]).shape == (0, 384)


def test_model_key_names_model_and_vector_settings():
    a = Embedder(device="cpu")
    assert a._model is None  # computing the key does not load the model
    assert "minilm" in a.model_key.lower() and a.model_key.endswith("seq256|fp32")
    assert Embedder(device="cpu", max_seq_length=128).model_key != a.model_key
    assert Embedder(device="cpu", fp16=True).model_key == a.model_key  # fp16 only applies on the GPU


def test_second_run_computes_nothing_and_returns_same_vectors(embedder, tmp_path):
    texts = ["How do I reset my password?", "The cat sat on the mat.", "How do I reset my password?"]
    keys = [key(t) for t in texts]
    cache = VectorCache(tmp_path, embedder.model_key)
    first, c1 = embed_cached(texts, keys, embedder, cache)
    assert c1 == {"embeddings:computed": 2, "embeddings:cached": 0}
    assert np.array_equal(first[0], first[2])
    # A new encoder over a new cache object on the same root: served from disk, the model never loads.
    fresh = Embedder(device="cpu")
    second, c2 = embed_cached(texts, keys, fresh, VectorCache(tmp_path, fresh.model_key))
    assert c2 == {"embeddings:computed": 0, "embeddings:cached": 2}
    assert np.array_equal(first, second) and fresh._model is None
    np.testing.assert_allclose(first, embedder.encode(texts), atol=1e-5)


def test_only_misses_are_computed_and_the_cache_persists(tmp_path):
    fake = CountingEmbedder()
    old = ["alpha", "beta", "gamma"]
    embed_cached(old, [key(t) for t in old], fake, VectorCache(tmp_path, fake.model_key))
    fake.encoded.clear()
    fresh = VectorCache(tmp_path, fake.model_key)  # a new object on the same root: read from disk
    assert len(fresh) == 3
    texts = ["beta", "delta", "alpha", "delta", "epsilon"]
    done: list[int] = []
    vecs, counters = embed_cached(texts, [key(t) for t in texts], fake, fresh, progress=done.append)
    assert sorted(fake.encoded) == ["delta", "epsilon"]
    assert counters == {"embeddings:computed": 2, "embeddings:cached": 2}
    assert sum(done) == len(texts)
    np.testing.assert_array_equal(vecs, CountingEmbedder().encode(texts))
    assert len(VectorCache(tmp_path, fake.model_key)) == 5


def test_cache_get_returns_found_vectors_in_key_order(tmp_path):
    cache = VectorCache(tmp_path, "m|1|seq8|fp32")
    vecs = np.eye(4, dtype=np.float32)
    cache.put([key("a"), key("b")], vecs[:2])
    cache.put([key("c"), key("d")], vecs[2:])
    found, got = cache.get([key("d"), key("zz"), key("a"), key("c")])
    assert found.tolist() == [True, False, True, True]
    np.testing.assert_array_equal(got, vecs[[3, 0, 2]])
    with pytest.raises(ValueError):
        cache.put([b"short"], vecs[:1])


def test_half_written_files_are_ignored(tmp_path):
    cache = VectorCache(tmp_path, "m|1|seq8|fp32")
    cache.put([key("a")], np.ones((1, 4), np.float32))
    # A crash mid-put leaves a tmp file, or a vecs file whose keys file (the commit) never landed.
    (cache.dir / "keys-dead.npy.tmp-123").write_bytes(b"garbage")
    np.save(cache.dir / "vecs-orphan.npy", np.zeros((5, 4), np.float32))
    (cache.dir / "keys-broken.npy").write_bytes(b"not an npy file")
    reopened = VectorCache(tmp_path, "m|1|seq8|fp32")
    assert len(reopened) == 1
    found, got = reopened.get([key("a")])
    assert found.all() and np.array_equal(got, np.ones((1, 4), np.float32))


def test_model_keys_are_separate_namespaces(tmp_path):
    VectorCache(tmp_path, "m|1|seq256|fp32").put([key("a")], np.ones((1, 4), np.float32))
    other = VectorCache(tmp_path, "m|1|seq128|fp32")
    assert len(other) == 0 and not other.get([key("a")])[0].any()
    assert other.dir != VectorCache(tmp_path, "m|1|seq256|fp32").dir


def test_resolve_device(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(RuntimeError, match="no GPU"):
        resolve_device("cuda")
    with pytest.raises(ValueError):
        resolve_device("tpu")


@pytest.mark.gpu
def test_cuda_fp16_agrees_with_cpu(embedder):
    texts = [t for pair in PARAPHRASES for t in pair] + UNRELATED
    gpu = Embedder(device="cuda", fp16=True)
    assert gpu.model_key.endswith("fp16")
    on_gpu, on_cpu = gpu.encode(texts), embedder.encode(texts)
    assert on_gpu.dtype == np.float32
    assert np.all(np.sum(on_gpu * on_cpu, axis=1) >= 0.99)
    assert similar_pairs(on_gpu, 0.85, device="cuda")[0].tolist() == similar_pairs(on_cpu, 0.85)[0].tolist()
