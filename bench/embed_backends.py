"""Sentence embeddings on the CPU: torch against the ONNX Runtime and OpenVINO back-ends.

The same texts (sentence pairs from the SpamAssassin e-mail bodies, real lengths) go through the
semantic level's `Embedder` with each back-end, in turn, `--runs` times after a warm-up (model
load and export are not timed); the batching (length-sorted, token-budgeted) is the same for all.
Reported per back-end: median texts/s and its min-max over the runs, the ratio to torch, and how
far its vectors are from torch's: the largest cosine gap of a text's two vectors, recall@10 of
each text's torch neighbours, and the agreement of the duplicate pairs (cosine >= 0.9) the
semantic level would find.

    .venv/bin/python bench/embed_backends.py                 # 4,000 texts, 3 runs
    .venv/bin/python bench/embed_backends.py --texts 20000 --runs 5
"""

from __future__ import annotations

import _setup  # noqa: F401  (sys.path, offline hubs, quiet loads)

import argparse
import random
import statistics
import time

import numpy as np

BACKENDS = (("torch", False), ("onnx", False), ("onnx", True), ("openvino", False))


def texts(n: int, seed: int = 0) -> list[str]:
    from bench.dedup_scale import sentence_pool

    pool = sentence_pool()
    rng = random.Random(seed)
    out = [" ".join(rng.sample(pool, 2)) for _ in range(n)]
    # A tenth are near copies (a word changed) so the duplicate pairs are not an empty set.
    for i in range(0, n, 10):
        words = out[i].split()
        words[rng.randrange(len(words))] = "really"
        out[(i + 5) % n] = " ".join(words)
    return out


def neighbours(v: np.ndarray, k: int = 10) -> np.ndarray:
    sims = v @ v.T
    np.fill_diagonal(sims, -1)
    return np.argsort(-sims, axis=1)[:, :k]


def pairs(v: np.ndarray, threshold: float = 0.9) -> set[tuple[int, int]]:
    sims = v @ v.T
    i, j = np.nonzero(np.triu(sims >= threshold, k=1))
    return set(zip(i.tolist(), j.tolist()))


def main() -> None:
    from pipeline.dedup.embed import Embedder

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data = texts(args.texts)
    embedders = {(b, q): Embedder(backend=b, quantize=q) for b, q in BACKENDS}
    for e in embedders.values():
        e.encode(data[:64])  # warm-up: load, export on first use
    rates: dict[tuple[str, bool], list[float]] = {k: [] for k in embedders}
    vectors = {}
    for _ in range(args.runs):
        for key, e in embedders.items():  # in turn: machine noise falls on every back-end alike
            t0 = time.perf_counter()
            vectors[key] = e.encode(data)
            rates[key].append(len(data) / (time.perf_counter() - t0))
    base = vectors[("torch", False)]
    base_nn, base_pairs = neighbours(base), pairs(base)
    torch_rate = statistics.median(rates[("torch", False)])
    print(f"{len(data):,} texts, {args.runs} runs each after a warm-up; torch found {len(base_pairs)} pairs >= 0.9")
    print(f"{'back-end':<16} {'texts/s':>8} {'min-max':>15} {'x torch':>8} {'max cos gap':>12} {'recall@10':>10} "
          f"{'pairs same':>11}")
    for (b, q), v in vectors.items():
        rate = statistics.median(rates[(b, q)])
        gap = float(np.max(1 - (v * base).sum(axis=1)))
        nn = neighbours(v)
        recall = float(np.mean([len(set(a) & set(c)) / 10 for a, c in zip(nn, base_nn)]))
        p = pairs(v)
        same = len(p & base_pairs) / max(len(p | base_pairs), 1)
        name = f"{b}{' int8' if q else ''}"
        print(f"{name:<16} {rate:>8.0f} {min(rates[(b, q)]):>7.0f}-{max(rates[(b, q)]):<7.0f} {rate / torch_rate:>8.2f} "
              f"{gap:>12.2e} {recall:>10.4f} {same:>11.4f}")


if __name__ == "__main__":
    main()
