"""SIGKILL in the middle of a stage, run again: the same final outputs, nothing partial trusted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

CURATE = [sys.executable, "-m", "pipeline.cli"]


def _write_inputs(d: Path, n: int) -> Path:
    words = "the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing".split()
    with open(d / "in.jsonl", "w") as f:
        for i in range(n):
            k = i % len(words)
            q = " ".join(words[k:] + words[:k]) + f" number {i}?"
            f.write(json.dumps({"question": q, "answer": f"It is {i}, contact me at user{i}@example.com."}) + "\n")
    cfg = d / "config.yaml"
    cfg.write_text(
        f"run: {{name: kill, out_dir: {d / 'run'}, workers: 2, batch_size: 500}}\n"
        f"sources:\n  - {{name: s, kind: instruction, format: jsonl, path: {d / 'in.jsonl'},"
        " fields: {prompt: question, response: answer}}\n")
    return cfg


def _final_tables(run: Path) -> dict[str, tuple]:
    out = {}
    for manifest in sorted((run / "stages").glob("*/manifest.json")):
        m = json.loads(manifest.read_text())
        kept = pq.read_table(manifest.parent / "kept")
        out[m["stage"]] = (m["counts"], m["output_fingerprint"], kept.num_rows, kept.column("id").to_pylist())
    return out


def _kill_when(cfg: Path, run: Path, pattern: str, timeout: float = 120) -> None:
    proc = subprocess.Popen([*CURATE, "clean", "--config", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            tmp = list((run / "stages").glob(pattern)) if (run / "stages").exists() else []
            if tmp and any(p.is_file() and p.stat().st_size > 0 for t in tmp for p in (t / "kept").glob("*")):
                break
            if proc.poll() is not None:
                pytest.fail("the run finished before it could be killed mid-stage")
            time.sleep(0.02)
        else:
            pytest.fail("no stage started within the timeout")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the stage's worker processes too
        proc.wait()


@pytest.mark.parametrize("stage", ["collect", "clean"])
def test_killed_run_then_rerun_equals_uninterrupted_run(tmp_path, stage):
    reference = tmp_path / "ref"
    reference.mkdir()
    cfg_ref = _write_inputs(reference, 60_000)
    subprocess.run([*CURATE, "clean", "--config", str(cfg_ref)], check=True, capture_output=True)
    expected = _final_tables(reference / "run")

    d = tmp_path / "killed"
    d.mkdir()
    cfg = _write_inputs(d, 60_000)
    _kill_when(cfg, d / "run", f".{stage}-*.tmp-*")
    # The killed stage left only a hidden temporary folder, and no manifest a later run would trust.
    assert not list((d / "run" / "stages").glob(f"{stage}-*"))
    assert list((d / "run" / "stages").glob(f".{stage}-*.tmp-*"))

    subprocess.run([*CURATE, "clean", "--config", str(cfg)], check=True, capture_output=True)
    got = _final_tables(d / "run")
    assert set(got) == {"collect", "clean"}
    for name in got:
        assert got[name][0] == expected[name][0]  # counts, reasons included
        assert got[name][2:] == expected[name][2:]  # the same records in the same order
    assert not list((d / "run" / "stages").glob(".*.tmp-*"))  # the abandoned folder was cleared
