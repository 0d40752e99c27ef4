"""Run a bench's measured child process: its wall time, its peak resident memory (sampled), and
the JSON object it prints last."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import psutil


def tail(log: Path, lines: int = 5) -> str:
    return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:]) if log.exists() else "(none)"


def run_measured(args: list[str], children: bool = False, interval: float = 0.05,
                 log: Path | None = None) -> tuple[dict, float, float]:
    """(the child's last stdout line as JSON, wall seconds, peak MiB); `children`: count the memory
    of the processes it starts too (worker pools); `log`: where the child writes its log."""
    t0 = time.perf_counter()
    # stdout to a file, not a pipe: a child printing more than a pipe holds would block until read.
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(args, stdout=out, text=True)
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
        proc.wait()
        out.seek(0)
        stdout = out.read()
    if proc.returncode:
        raise SystemExit(f"child failed with {proc.returncode}" + (f"; its log ends: {tail(log)}" if log else ""))
    return json.loads(stdout.strip().splitlines()[-1]), time.perf_counter() - t0, peak / 2**20
