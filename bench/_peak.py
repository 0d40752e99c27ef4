"""Run a bench's measured child process: its wall time, its peak resident memory (sampled), and
the JSON object it prints last."""

from __future__ import annotations

import json
import subprocess
import time

import psutil


def run_measured(args: list[str], children: bool = False, interval: float = 0.05) -> tuple[dict, float, float]:
    """(the child's last stdout line as JSON, wall seconds, peak MiB); `children`: count the memory
    of the processes it starts too (worker pools)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    ps, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss
            if children:
                rss += sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(interval)
    stdout = proc.stdout.read()
    if proc.returncode:
        raise SystemExit(f"child failed with {proc.returncode}")
    return json.loads(stdout.strip().splitlines()[-1]), time.perf_counter() - t0, peak / 2**20
