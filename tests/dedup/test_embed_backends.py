"""The onnx and openvino back-ends of the sentence encoder, against the torch path.

The offline MiniLM is exported once (into a temporary export cache here) and run by ONNX Runtime
and OpenVINO; fp32 vectors must match torch's to 1e-4 in cosine and give the same neighbours;
int8 weights move them more (stated tolerance 0.1 in cosine, the top neighbour kept for the
paraphrases). Each back-end has its own cache namespace, and semantic dedup gives the same
decisions through any of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.dedup.embed import Embedder

TEXTS = ["How do I reset my password?", "What is the way to reset my password?",
         "What is the capital of France?", "Which city is the capital of France?",
         "The cat sat on the mat.", "A cat was sitting on the mat.",
         "The recipe needs two cups of flour and a pinch of salt.",
         "Stock markets fell sharply after the central bank raised interest rates."]


@pytest.fixture(scope="module", autouse=True)
def export_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("CURATE_EXPORT_CACHE", str(tmp_path_factory.mktemp("exports")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def torch_vectors():
    return Embedder(device="cpu").encode(TEXTS)


def _top(v):
    sims = v @ v.T
    np.fill_diagonal(sims, -1)
    return sims.argmax(axis=1)


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_fp32_back_ends_match_torch(backend, torch_vectors):
    e = Embedder(backend=backend)
    v = e.encode(TEXTS)
    assert v.shape == torch_vectors.shape and v.dtype == np.float32
    assert np.max(1 - (v * torch_vectors).sum(axis=1)) < 1e-4
    assert (_top(v) == _top(torch_vectors)).all()
    assert e.model_key.endswith(f"|fp32|{backend}") and e.dim == 384


def test_int8_within_the_stated_tolerance(torch_vectors):
    e = Embedder(backend="onnx", quantize=True)
    v = e.encode(TEXTS)
    assert np.max(1 - (v * torch_vectors).sum(axis=1)) < 0.1
    assert (_top(v)[:6] == _top(torch_vectors)[:6]).all()  # each paraphrase still finds its pair
    assert e.model_key.endswith("|int8|onnx")


def test_back_ends_have_their_own_cache_namespace():
    keys = {Embedder(backend=b, quantize=q).model_key for b, q in
            (("torch", False), ("onnx", False), ("onnx", True), ("openvino", False))}
    assert len(keys) == 4


def test_semantic_dedup_decides_the_same_through_onnx(tmp_path):
    import json

    from pipeline.config import parse_config
    from pipeline.runner import run_pipeline

    data = tmp_path / "t.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": "x"}) + "\n" for t in TEXTS))
    results = {}
    for backend in ("torch", "onnx"):
        cfg = parse_config({"run": {"out_dir": str(tmp_path / backend), "workers": 1},
                            "sources": [{"name": "s", "kind": "classification", "format": "jsonl", "path": str(data)}],
                            "clean": {"enabled": False},
                            "dedup": {"near": {"enabled": False},
                                      "semantic": {"kinds": ["classification"], "threshold": 0.8,
                                                   "backend": backend}}})
        out = run_pipeline(cfg, until="dedup").outputs["dedup_semantic"]
        results[backend] = sorted((json.loads(r["record"])["text"], r["reason"])
                                  for r in out.read_rejected().to_pylist())
    assert results["torch"] and results["onnx"] == results["torch"]
