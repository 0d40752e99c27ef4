"""A user's mistake at `curate run` is one line naming the thing and the fix, exit code 2, with
the default (Prefect) engine too: checked before any flow run starts."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def test_a_source_path_that_matches_nothing_is_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"run: {{out_dir: {tmp_path / 'out'}}}\n"
                   f"sources:\n  - {{name: s, kind: instruction, format: jsonl, path: '{tmp_path}/nothing*.jsonl'}}\n")
    proc = run_cli("run", "--config", str(cfg))  # the default engine: a Prefect flow run
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-3000:]
    assert "nothing*.jsonl" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "catalog.sqlite").exists()
    debug = run_cli("--debug", "run", "--config", str(cfg), "--engine", "local")
    assert debug.returncode != 0 and "Traceback" in debug.stderr  # --debug keeps the traceback


def test_a_judge_endpoint_that_does_not_answer_is_one_line(tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "qa.jsonl"
    data.write_text('{"prompt": "Hi?", "response": "Hello."}\n')
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"run: {{out_dir: {tmp_path / 'out'}}}\n"
                   f"sources:\n  - {{name: s, kind: instruction, format: jsonl, path: '{data}'}}\n"
                   "score:\n  enabled: true\n  scorers:\n"
                   f"    - {{name: j, kind: judge, backend: openai, url: 'http://127.0.0.1:{port}/v1', model: m}}\n")
    proc = run_cli("score", "--config", str(cfg))
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-3000:]
    assert f"http://127.0.0.1:{port}/v1 does not answer" in lines[0] and "score.scorers[].url" in lines[0]
    assert not (tmp_path / "out" / "catalog.sqlite").exists()
