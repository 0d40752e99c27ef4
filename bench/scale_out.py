"""Benchmark: collect -> clean -> exact + near dedup at 1M and 5M records, local executor vs Dask.

The input is built from the demo's SpamAssassin e-mail bodies (their ~100k distinct sentences,
as bench/dedup_scale.py uses them): each record's prompt is one sentence and its response two
more, drawn at random, so records are distinct; 10% are near copies of a recent record (a word
of the response replaced, one inserted) and 3% exact copies. Files of 50k records, so
collection shards them. Each run is a fresh `curate dedup --config ... --executor E` process
(semantic dedup off) on the same two cores:

  local  the local executor, `run.workers` = 2 worker processes;
  dask   a Dask LocalCluster of 2 worker processes (1 thread each) that the run starts.

While a run goes, this script samples the resident memory of every process of its tree: the
driver (the `curate` process), and each worker (pool workers; Dask's nannies and workers). It
prints wall time, records/s, the driver's peak and the largest per-worker peak, the Dask/local
ratio, and, from the per-part times in the manifests, the time each stage's shard work would
take on N workers (a projection: the driver's share does not shrink).

    .venv/bin/python bench/scale_out.py                          # 1M and 5M, 1 run each
    .venv/bin/python bench/scale_out.py --sizes 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDS = ["please", "really", "today", "now", "again", "maybe", "also", "just", "still", "quite"]
PER_FILE = 50_000


def build_input(n: int, folder: Path, seed: int = 0) -> dict[str, int]:
    from bench.dedup_scale import sentence_pool

    pool = sentence_pool()
    rng = random.Random(seed)
    recent: deque[tuple[str, str]] = deque(maxlen=10_000)
    planted = {"near": 0, "exact": 0}
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, n, PER_FILE):
        with open(folder / f"part{start // PER_FILE:05d}.jsonl", "w") as f:
            for _ in range(start, min(n, start + PER_FILE)):
                roll = rng.random()
                if recent and roll < 0.03:
                    q, a = recent[rng.randrange(len(recent))]
                    planted["exact"] += 1
                elif recent and roll < 0.13:
                    q, a = recent[rng.randrange(len(recent))]
                    words = a.split()
                    words[rng.randrange(len(words))] = rng.choice(WORDS)
                    words.insert(rng.randrange(len(words) + 1), rng.choice(WORDS))
                    a = " ".join(words)
                    planted["near"] += 1
                else:
                    q, a = rng.choice(pool), " ".join(rng.sample(pool, 2))
                recent.append((q, a))
                f.write(json.dumps({"question": q, "answer": a}) + "\n")
    return planted


def write_config(d: Path, data: Path) -> Path:
    cfg = d / "config.yaml"
    cfg.write_text(
        f"run: {{name: scale, out_dir: {d / 'run'}, workers: 2, batch_size: 2000,"
        " dask: {n_workers: 2, threads_per_worker: 1}}\n"
        "dedup: {semantic: {enabled: false}}\n"
        f"sources:\n  - {{name: chat, kind: instruction, format: jsonl, path: {data},"
        " fields: {prompt: question, response: answer}}\n")
    return cfg


def run_once(cfg: Path, executor: str) -> dict:
    """Wall seconds and peak RSS (MB) of the driver and of the largest worker, for one run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(ROOT / ".venv/bin/curate"), "dedup", "--config", str(cfg), "--executor", executor],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    driver = psutil.Process(proc.pid)
    peaks: dict[int, float] = {}
    while proc.poll() is None:
        try:
            for p in [driver, *driver.children(recursive=True)]:
                peaks[p.pid] = max(peaks.get(p.pid, 0), p.memory_info().rss / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.read().decode()[-3000:])
    workers = [v for pid, v in peaks.items() if pid != proc.pid]
    return {"wall": wall, "driver_mb": peaks.get(proc.pid, 0), "worker_mb": max(workers, default=0),
            "processes": len(peaks)}


def stage_costs(run: Path) -> dict[str, dict]:
    """Per stage: wall time, the sum of its parts' times, the largest part, the parts' count."""
    out = {}
    for m in sorted(run.glob("stages/*/manifest.json")):
        man = json.loads(m.read_text())
        parts = [p.get("wall_s", 0) for p in man["parts"]]
        out[man["stage"]] = {"wall": man["timings"]["wall_s"], "parts_sum": sum(parts), "parts_max": max(parts),
                             "plan_map": man["timings"].get("plan_map_s", 0.0),
                             "parts": len(parts), "in": man["counts"]["in"], "kept": man["counts"]["kept"]}
    return out


def projection(costs: dict[str, dict], workers: list[int]) -> list[str]:
    """Time per stage on W workers: the driver's share (wall - shard work at 2 workers - the
    plan's fan-out, e.g. dedup's features and bucket partitions) plus the shard work spread over
    W (never below the largest part) plus the fan-out's work (its wall at 2 workers, x 2 / W)."""
    lines = []
    for w in workers:
        total = driver_total = 0.0
        for c in costs.values():
            driver = max(0.0, c["wall"] - c["parts_sum"] / 2 - c["plan_map"])
            driver_total += driver
            total += driver + max(c["parts_max"], c["parts_sum"] / w) + c["plan_map"] * 2 / w
        lines.append(f"    {w:>3} workers: {total:8.1f} s (driver's share {driver_total:.1f} s)")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--repeat", type=int, default=1, help="runs per executor (alternated); medians are quoted")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "scale_out")
    ap.add_argument("--executors", nargs="+", default=["local", "dask"], choices=["local", "dask"])
    args = ap.parse_args()
    for n in args.sizes:
        d = args.workdir / f"n{n}"
        shutil.rmtree(d, ignore_errors=True)
        planted = build_input(n, d / "data")
        cfg = write_config(d, d / "data")
        results: dict[str, list[dict]] = {e: [] for e in args.executors}
        costs = {}
        load = []
        for _ in range(args.repeat):
            for executor in args.executors:
                shutil.rmtree(d / "run", ignore_errors=True)
                load.append(psutil.getloadavg()[0])
                results[executor].append(run_once(cfg, executor))
                costs[executor] = stage_costs(d / "run")
                r = results[executor][-1]
                print(f"  run: {executor} {r['wall']:.1f} s, driver {r['driver_mb']:.0f} MB, worker {r['worker_mb']:.0f} MB, "
                      + ", ".join(f"{k} {c['wall']:.0f} s" for k, c in costs[executor].items()), flush=True)
        print(f"\nn={n:,} records, planted {planted['exact']:,} exact and {planted['near']:,} near copies "
              f"({args.repeat} run(s) per executor; load average before runs {min(load):.2f}-{max(load):.2f})")
        med = {}
        for executor, runs in results.items():
            walls = [r["wall"] for r in runs]
            med[executor] = statistics.median(walls)
            print(f"  {executor:<5} wall median {med[executor]:7.1f} s (min {min(walls):.1f}, max {max(walls):.1f})  "
                  f"{n / med[executor]:8,.0f} rec/s  driver peak {max(r['driver_mb'] for r in runs):6.0f} MB  "
                  f"worker peak {max(r['worker_mb'] for r in runs):6.0f} MB  processes {runs[0]['processes']}")
            for stage, c in costs[executor].items():
                print(f"        {stage:<12} {c['wall']:7.1f} s  {c['parts']:3d} parts  shard work {c['parts_sum']:7.1f} s"
                      f"  in {c['in']:,}  kept {c['kept']:,}")
        if len(med) == 2:
            print(f"  dask / local wall: {med['dask'] / med['local']:.2f}")
        last = args.executors[-1]
        print(f"  projection from the {last} run's per-part times:")
        print("\n".join(projection(costs[last], [2, 4, 8, 16, 32])))


if __name__ == "__main__":
    sys.exit(main())
