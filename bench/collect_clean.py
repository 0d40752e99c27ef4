"""Benchmark: collection + cleaning throughput and peak memory at 10k, 100k and 1M records.

The input is built by repeating and perturbing the real demo data (chatterbot-corpus
prompt/response pairs), so the texts are real, short, and mostly distinct. Each size runs in
a fresh process (`curate clean --config ...`, two worker processes) while this script samples
the resident memory of the whole process tree. The baseline, run on the same file in the same
session, is the floor any reader pays: one pass of `json.loads` over the lines.

    .venv/bin/python bench/collect_clean.py                 # 10k, 100k, 1M
    .venv/bin/python bench/collect_clean.py --sizes 10000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["please", "really", "today", "now", "again", "maybe", "also", "just", "still", "quite"]


def build_input(n: int, path: Path, seed: int = 0) -> None:
    from pipeline.demo.data import chatterbot_jsonl, data_home

    base = [json.loads(line) for line in chatterbot_jsonl(data_home()).read_text().splitlines()]
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            row = base[i % len(base)]
            q, a = row["question"].split(), row["answer"].split()
            # Perturb: insert a word and a number so repeats are distinct records.
            q.insert(rng.randrange(len(q) + 1), rng.choice(WORDS))
            a.append(f"({i})")
            f.write(json.dumps({"question": " ".join(q), "answer": " ".join(a), "topic": row["topic"]}) + "\n")


def baseline_seconds(path: Path) -> float:
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        for line in f:
            json.loads(line)
    return time.perf_counter() - t0


def run_pipeline(config: Path) -> tuple[float, float, float]:
    """Wall seconds, and peak RSS and PSS (MB) summed over the process tree of one `curate clean` run.

    RSS counts the shared libraries once per process (three processes here); PSS splits shared
    pages between the processes that map them, so its sum is the tree's real footprint.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(ROOT / ".venv/bin/curate"), "clean", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps, peak_rss, peak_pss = psutil.Process(proc.pid), 0, 0
    while proc.poll() is None:
        try:
            procs = [ps, *ps.children(recursive=True)]
            peak_rss = max(peak_rss, sum(p.memory_info().rss for p in procs))
            peak_pss = max(peak_pss, sum(p.memory_full_info().pss for p in procs))
        except psutil.Error:
            pass
        time.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.read().decode()[-3000:])
    return time.perf_counter() - t0, peak_rss / 2**20, peak_pss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        d = args.workdir / f"n{n}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        build_input(n, d / "input.jsonl")
        (d / "config.yaml").write_text(
            f"run: {{name: bench{n}, out_dir: {d / 'run'}, workers: 2}}\n"
            f"sources:\n  - {{name: chat, kind: instruction, format: jsonl, path: {d / 'input.jsonl'},"
            " fields: {prompt: question, response: answer}}\n")
        base = baseline_seconds(d / "input.jsonl")
        wall, peak, pss = run_pipeline(d / "config.yaml")
        manifests = [json.loads(m.read_text()) for m in sorted((d / "run" / "stages").glob("*/manifest.json"))]
        stage_s = {m["stage"]: m["timings"]["wall_s"] for m in manifests}
        kept = next(m["counts"]["kept"] for m in manifests if m["stage"] == "clean")
        rows.append((n, wall, n / wall, peak, base, wall / base, stage_s, kept))
        print(f"n={n:>9,}  wall {wall:7.1f} s  {n / wall:9,.0f} rec/s  peak RSS {peak:5.0f} MB  PSS {pss:5.0f} MB  "
              f"baseline json.loads {base:6.2f} s  ratio {wall / base:5.1f}x  stages {stage_s}  kept {kept:,}",
              flush=True)
    if len(rows) > 1:
        # Wall time includes a fixed start-up (interpreters, imports, worker spawn); linear growth
        # shows as a constant marginal cost per record between sizes.
        print("\nlinearity: marginal cost per record between consecutive sizes")
        for (n0, w0, *_), (n1, w1, *_) in zip(rows, rows[1:]):
            print(f"  {n0:>9,} -> {n1:>9,}: {1e6 * (w1 - w0) / (n1 - n0):6.1f} us/record")


if __name__ == "__main__":
    sys.exit(main())
