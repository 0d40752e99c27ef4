"""The LLM judge: the OpenAI-compatible path against a real server on 127.0.0.1 (a transformers
model behind HTTP, started here), and the local transformers path.

The server answers with SmolLM2; markers in chosen records make it fail as real endpoints do (a
503 once, a 500 always, an answer past the client's timeout). The run goes on: those records get
a missing-score reason; a restart asks the server only for what failed for a transient reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.score.helpers import PAIRS, run_until_score, score_config, write_instructions

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
SERVER = Path(__file__).with_name("chat_server.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    from pipeline.train.models import ensure_smollm2

    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(SERVER), "--port", str(port), "--model", str(ensure_smollm2()),
                             "--slow-s", "4"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chat server exited: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("chat server did not start within 180 s")
    yield url, f"http://127.0.0.1:{port}/stats"
    proc.terminate()
    proc.wait(timeout=30)


FAULTY = [("[[fail-once]] What is the largest ocean?", "The Pacific is the largest ocean."),
          ("[[slow]] What is the boiling point of water at sea level?", "Water boils at 100 degrees Celsius."),
          ("[[always-500]] Who wrote Hamlet?", "William Shakespeare wrote Hamlet.")]


def _judge(url: str, **decide) -> dict:
    return {"name": "j", "kind": "judge", "backend": "openai", "url": url, "model": "local", "timeout_s": 2,
            "max_retries": 1, "concurrency": 2, "requests_per_second": 20, "decide": decide}


def test_endpoint_judge_with_faults_and_a_restart(tmp_path, server):
    from pipeline.score.judge import DEFAULT_RUBRIC

    url, stats_url = server
    rows = PAIRS[:5] + FAULTY
    data = write_instructions(tmp_path / "qa.jsonl", rows)
    out = run_until_score(score_config(tmp_path, data, [_judge(url)])).output("score_j")
    kept = {r["prompt"]: r for r in out.read_kept().to_pylist()}
    assert out.counts["in"] == len(kept) == len(rows) and out.counts["rejected"] == 0
    assert kept[FAULTY[1][0]]["score_j_missing"] == "timeout"
    assert kept[FAULTY[2][0]]["score_j_missing"] == "http_500"
    assert kept[FAULTY[0][0]]["score_j_missing"] in (None, "unparsable")  # the retry got an answer
    for r in kept.values():
        if r["score_j_missing"] is None:
            assert r["score_j_score"] in {1.0, 2.0, 3.0, 4.0, 5.0} and r["score_j_at"]
        else:
            assert r["score_j_score"] is None
    assert any(r["score_j_missing"] is None for r in kept.values())
    (prov,) = json.loads((out.path / "provenance.json").read_text()).values()
    assert prov["backend"] == "openai" and prov["model"] == "local" and prov["model_id"] == url
    assert prov["template_sha256"] == hashlib.sha256(DEFAULT_RUBRIC.encode()).hexdigest()
    assert prov["settings"] == {"mode": "generate", "temperature": 0.0, "max_new_tokens": 8, "scale": [1, 5]}

    before = httpx.get(stats_url).json()["by_message"]
    # A restart deciding differently: only the transient failures are asked again, and now rejected.
    again = run_until_score(score_config(tmp_path, data, [_judge(url, on_missing="reject")])).output("score_j")
    after = httpx.get(stats_url).json()["by_message"]
    asked = {m for m in after if after[m] != before.get(m)}
    assert len(asked) == 2 and all("[[slow]]" in m or "[[always-500]]" in m for m in asked)
    assert again.manifest["counters"]["scores:cached"] == len(rows) - 2
    rejected = {json.loads(r["record"])["prompt"]: r for r in again.read_rejected().to_pylist()}
    missing = {p for p, r in kept.items() if r["score_j_missing"] is not None}
    assert set(rejected) == missing
    assert all(r["reason"] == "score_missing" for r in rejected.values())
    assert rejected[FAULTY[1][0]]["detail"] == "score_j: timeout"
    assert again.counts["in"] == again.counts["kept"] + again.counts["rejected"]


def test_local_judge_unparsable_answers_are_reasons_and_cached(tmp_path):
    """A rubric that asks for a word: the model's answers hold no score, each one is a reason."""
    rubric = "Name the topic of this question in one word, without numbers.\n\nQuestion: {prompt}"
    data = write_instructions(tmp_path / "qa.jsonl", PAIRS[:6])
    judge = {"name": "topic", "kind": "judge", "rubric": rubric, "decide": {"on_missing": "reject"}}
    out = run_until_score(score_config(tmp_path, data, [judge])).output("score_topic")
    rejected = out.read_rejected().to_pylist()
    assert rejected and all(r["reason"] == "score_missing" and r["detail"] == "score_topic: unparsable"
                            for r in rejected)
    assert out.counts["in"] == out.counts["kept"] + out.counts["rejected"] == 6
    judge["decide"] = {"on_missing": "keep"}
    again = run_until_score(score_config(tmp_path, data, [judge])).output("score_topic")
    assert again.manifest["counters"] == {"scores:cached": 6, "scores:computed": 0, "scores:failed": 0}
    assert sum(r["score_topic_missing"] == "unparsable" for r in again.read_kept().to_pylist()) == len(rejected)


def test_local_judge_expected_mode_never_misses(tmp_path):
    data = write_instructions(tmp_path / "qa.jsonl", PAIRS[:4])
    judge = {"name": "q", "kind": "judge", "mode": "expected", "decide": {"top_k": 2}}
    out = run_until_score(score_config(tmp_path, data, [judge])).output("score_q")
    kept = out.read_kept().to_pylist()
    assert len(kept) == 2 and out.counts["rejected_by_reason"] == {"score_not_top": 2}
    assert all(1.0 <= r["score_q_score"] <= 5.0 and r["score_q_missing"] is None for r in kept)


def test_parse_score():
    from pipeline.score.judge import parse_score

    assert parse_score("4", 1, 5) == 4.0
    assert parse_score("Score: 3/5", 1, 5) == 3.0
    assert parse_score("I'd say 2.5", 1, 5) == 2.5
    assert parse_score("10", 1, 5) is None
    assert parse_score("excellent", 1, 5) is None
    assert parse_score("", 1, 5) is None
