"""Semantic dedup speed: sentence embeddings per second, and cosine neighbour search.

1. Encoding. The same N real short texts (chatterbot prompts and responses, repeated with small
   edits up to N) go through ours (`Embedder.encode`: length-sorted batches of 256, fp16 on the
   GPU) and through `SentenceTransformer.encode` with its defaults (batch_size 32, fp32; it sorts
   each call by character length itself) on one loaded model, in the same process, after a
   warm-up, `--repeats` times in alternating order; the best rate of each is reported
   (tokenisation included, model load excluded), with the CPU time of the process beside it (on a
   shared machine, CPU-seconds are the steadier measure). The vectors of both sides are compared.
2. Cache. `embed_cached` over the same texts twice into a temporary cache, the encoder replaced
   by the vectors of step 1: the first pass writes a shard, the second computes nothing; its rate
   is the rate of cache lookups.
3. Search. M rows built from the real embeddings of step 1: each row a real vector plus noise
   (cosine ~0.75 to it, so rows from one text are related but not duplicates), then P planted
   duplicates (a row's copy with cosine 0.96-0.995). `similar_pairs` at --threshold reports time,
   comparisons, pairs and recall of the planted pairs; with --exact-check the all-pairs path runs
   too and the k-means path is scored against every pair it finds.

    .venv/bin/python bench/dedup_semantic_speed.py --records 5000 --search-records 100000
    .venv/bin/python bench/dedup_semantic_speed.py --device cuda --records 100000 --search-records 1000000 --exact-check

Peak RSS (psutil, sampled every 20 ms) is reported per phase. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import tempfile
import threading
import time

# Spin-waiting OpenMP threads are very slow on a busy 2-core machine; both sides get the same setting.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from pipeline.demo.data import chatterbot_jsonl, data_home  # noqa: E402
from pipeline.dedup.embed import Embedder, VectorCache, embed_cached  # noqa: E402
from pipeline.dedup.neighbors import similar_pairs  # noqa: E402


class PeakRSS:
    """Highest resident set size seen while the block runs (a sampling thread)."""

    def __enter__(self):
        self.proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self._stop.wait(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def mib(self) -> float:
        return self.peak / 2**20


def chatterbot_texts(n: int, seed: int = 0) -> list[str]:
    """n texts: every question and answer once, then copies with small edits (case, punctuation, a word)."""
    pool = []
    with open(chatterbot_jsonl(data_home()), encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            pool += [row["question"], row["answer"]]
    rng = random.Random(seed)
    fillers = ["please", "really", "now", "again", "exactly", "maybe", "today", "though"]
    out = pool[:n]
    while len(out) < n:
        words = rng.choice(pool).split()
        edit = rng.randrange(3)
        if edit == 0:
            words.insert(rng.randrange(len(words) + 1), rng.choice(fillers))
        elif edit == 1 and len(words) > 2:
            del words[rng.randrange(len(words))]
        text = " ".join(words)
        out.append(text.lower() if rng.random() < 0.3 else text + rng.choice(["", "!", "?", "."]))
    return out


def time_encoders(texts: list[str], device: str, repeats: int) -> tuple[dict, np.ndarray]:
    ours = Embedder(device=device)
    model = ours._load()  # the same loaded model serves both sides (ours in fp16 on CUDA)
    baseline = model
    if ours.half:  # the baseline runs the model as loaded by default: fp32
        from sentence_transformers import SentenceTransformer

        baseline = SentenceTransformer(ours.model_name, device=device)
        baseline.max_seq_length = ours.max_seq_length
    warm = texts[:512]
    ours.encode(warm)
    baseline.encode(warm, show_progress_bar=False)
    rates = {"ours": [], "sentence-transformers defaults": []}
    cpu_s = {side: [] for side in rates}
    for r in range(repeats):
        sides = ["ours", "sentence-transformers defaults"]
        for side in sides if r % 2 == 0 else sides[::-1]:
            t, c = time.perf_counter(), time.process_time()
            if side == "ours":
                vecs = ours.encode(texts)
            else:
                ref = baseline.encode(texts, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
            rates[side].append(len(texts) / (time.perf_counter() - t))
            cpu_s[side].append(time.process_time() - c)
    agree = np.sum(vecs * ref.astype(np.float32), axis=1)
    return {"rates": rates, "cpu_s": cpu_s, "min_cosine_ours_vs_baseline": float(agree.min()),
            "model_key": ours.model_key}, vecs


class Precomputed:
    """Stands in for the encoder with vectors already computed: the cache phase times the cache only."""

    def __init__(self, texts: list[str], vecs: np.ndarray, model_key: str):
        self.rows = {t: v for t, v in zip(texts, vecs)}
        self.dim, self.model_key = vecs.shape[1], model_key

    def encode(self, texts, progress=None):
        return np.stack([self.rows[t] for t in texts])


def time_cache(texts: list[str], vecs: np.ndarray, model_key: str) -> dict:
    embedder = Precomputed(texts, vecs, model_key)
    keys = [hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts]
    with tempfile.TemporaryDirectory() as root:
        t = time.perf_counter()
        _, first = embed_cached(texts, keys, embedder, VectorCache(root, embedder.model_key))
        t1 = time.perf_counter() - t
        t = time.perf_counter()
        _, second = embed_cached(texts, keys, embedder, VectorCache(root, embedder.model_key))
        t2 = time.perf_counter() - t
    return {"first": first, "first_s": t1, "second": second, "second_s": t2}


def search_rows(base: np.ndarray, m: int, n_planted: int, seed: int = 0) -> tuple[np.ndarray, set]:
    """m rows of real vectors plus noise (cosine ~0.75 to their source) and planted near copies."""
    rng = np.random.default_rng(seed)
    d = base.shape[1]

    def noisy(rows: np.ndarray, radius: np.ndarray) -> np.ndarray:
        # A unit row plus Gaussian noise of norm r has cosine 1/sqrt(1+r^2) with it.
        z = rng.standard_normal((len(rows), d)).astype(np.float32)
        z *= (radius / np.linalg.norm(z, axis=1))[:, None]
        out = rows + z
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    x = noisy(base[np.arange(m) % len(base)], np.full(m, math.sqrt(1 / 0.75**2 - 1), np.float32))
    src, dst = np.split(rng.choice(m, 2 * n_planted, replace=False), 2)
    cos = rng.uniform(0.96, 0.995, n_planted).astype(np.float32)
    x[dst] = noisy(x[src], np.sqrt(1 / cos**2 - 1))
    return x.astype(np.float32), {tuple(sorted(p)) for p in zip(src.tolist(), dst.tolist())}


def time_search(x: np.ndarray, planted: set, threshold: float, device: str, exact: bool, cluster_above: int) -> dict:
    out = {}
    runs = [("k-means" if len(x) > cluster_above else "exact", cluster_above)]
    if exact and len(x) > cluster_above:
        runs.append(("exact", len(x)))
    for name, above in runs:
        with PeakRSS() as rss:
            t = time.perf_counter()
            pairs, _, counters = similar_pairs(x, threshold, device=device, cluster_above=above)
            seconds = time.perf_counter() - t
        found = {tuple(p) for p in pairs.tolist()}
        out[name] = {"seconds": seconds, **counters, "planted_recall": len(planted & found) / len(planted),
                     "peak_rss_mib": rss.mib, "found": found}
    if "exact" in out and "k-means" in out:
        everything = out["exact"]["found"]
        out["k-means"]["recall_vs_exact_all_pairs"] = len(everything & out["k-means"]["found"]) / max(1, len(everything))
    for v in out.values():
        v.pop("found")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--records", type=int, default=5000, help="texts to encode")
    p.add_argument("--search-records", type=int, default=100_000, help="rows for the neighbour search")
    p.add_argument("--planted", type=int, default=1000, help="planted duplicate pairs among the search rows")
    p.add_argument("--threshold", type=float, default=0.95)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--cluster-above", type=int, default=50_000)
    p.add_argument("--exact-check", action="store_true", help="also run the all-pairs path on the search rows")
    args = p.parse_args()

    import torch

    from pipeline.dedup.embed import resolve_device

    device = resolve_device(args.device)
    print(f"device {device} ({torch.cuda.get_device_name() if device == 'cuda' else f'{os.cpu_count()} CPU cores'}),"
          f" torch {torch.__version__}, threads {torch.get_num_threads()}")
    texts = chatterbot_texts(args.records)
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"\n== encoding {len(texts):,} texts (mean {mean_chars:.0f} chars), best of {args.repeats} ==")
    with PeakRSS() as rss:
        enc, vecs = time_encoders(texts, device, args.repeats)
    ours, base = max(enc["rates"]["ours"]), max(enc["rates"]["sentence-transformers defaults"])
    for side, rates in enc["rates"].items():
        cpu = min(enc["cpu_s"][side])
        print(f"{side:<32} {max(rates):>9,.0f} texts/s   (runs: {', '.join(f'{r:,.0f}' for r in rates)}; "
              f"best CPU time {cpu:.1f} s = {len(texts) / cpu:,.0f} texts per CPU-second)")
    print(f"ratio ours / defaults: {ours / base:.2f}x   min cosine ours vs defaults: "
          f"{enc['min_cosine_ours_vs_baseline']:.5f}   peak RSS {rss.mib:,.0f} MiB")
    print(f"model_key {enc['model_key']}")

    print("\n== embedding cache (embed_cached twice, same texts; the encoder replaced by a lookup) ==")
    c = time_cache(texts, vecs, enc["model_key"])
    print(f"first  {c['first_s']:.3f} s {c['first']} (writing the shard)")
    print(f"second {c['second_s']:.3f} s {c['second']}  -> {len(texts) / c['second_s']:,.0f} texts/s from cache")

    x, planted = search_rows(vecs, args.search_records, args.planted)
    print(f"\n== neighbour search: {len(x):,} rows, {len(planted):,} planted pairs, cosine >= {args.threshold} ==")
    for name, r in time_search(x, planted, args.threshold, device, args.exact_check, args.cluster_above).items():
        extra = f"   recall vs exact (all pairs) {r['recall_vs_exact_all_pairs']:.4f}" if "recall_vs_exact_all_pairs" in r else ""
        print(f"{name:<8} {r['seconds']:8.2f} s  clusters {r['semantic:clusters']:,} (boundary rows "
              f"{r['semantic:boundary_rows']:,})  comparisons "
              f"{r['semantic:comparisons']:.3g} ({r['semantic:comparisons'] / r['seconds']:.3g}/s)  pairs "
              f"{r['semantic:pairs']:,}  planted recall {r['planted_recall']:.4f}  largest cluster "
              f"{r['semantic:largest_cluster']:,}  peak RSS {r['peak_rss_mib']:,.0f} MiB{extra}")


if __name__ == "__main__":
    main()
