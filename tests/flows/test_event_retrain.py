"""A real Prefect server and worker: accepted decisions, sent as events, start the retrain deployment.

Slow (~2-3 min): a `prefect server` process on 127.0.0.1, the deployments registered by
deploy/annotation_deployment.py with a process work pool, a `prefect worker` process, and a real
retrain (MiniLM, one epoch) run by the worker because `curate.annotation.accepted` events arrived.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.tracking.test_champion import config as reviews_config, write_reviews

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")


def api(url: str, path: str, body: dict | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"},
                                 method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def prefect_server(tmp_path):
    from pipeline.annotate.server import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": url,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_API_HOST": "127.0.0.1",
           "PREFECT_SERVER_API_PORT": str(port)}
    procs = []

    def start(args: list[str], log: str) -> subprocess.Popen:
        p = subprocess.Popen(args, env=env, cwd=ROOT, stdout=open(tmp_path / log, "w"), stderr=subprocess.STDOUT,
                             start_new_session=True)
        procs.append(p)
        return p

    server = start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], "server.log")
    deadline = time.monotonic() + 120
    while True:
        try:
            if api(url, "/health") is True:
                break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("prefect server did not start: " + (tmp_path / "server.log").read_text()[-2000:])
        time.sleep(1)
    try:
        yield {"url": url, "env": env, "start": start}
    finally:
        for p in reversed(procs):  # the worker first: SIGTERM (it may sit on a SIGINT for 20 s)
            try:
                os.killpg(p.pid, 15)
                p.wait(30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, 9)


def seed_decisions(cfg, records: list[dict], label_for: dict[str, str]) -> None:
    """Accepted decisions in the annotation store, as a pull would have stored them (one annotator each)."""
    from pipeline.annotate.label_configs import annotation_result
    from pipeline.annotate.store import now_iso, store_for

    store = store_for(cfg.run.out_dir, cfg.annotate, "classification")
    rows = [{"annotation_id": 100 + i, "task_id": 10 + i, "record_id": r["id"], "annotator": "ann@example.com",
             "created_at": now_iso(), "updated_at": now_iso(), "deleted": False, "was_cancelled": False,
             "lead_time": 3.0, "result": json.dumps(annotation_result("classification", label=label_for[r["id"]])),
             "sync_id": "seeded", "seen_at": now_iso()} for i, r in enumerate(records)]
    store.append_versions("seeded", rows)


def test_accepted_decision_events_start_the_retrain_deployment_on_a_worker(prefect_server, tmp_path):
    import yaml

    from pipeline.config import load_config
    from pipeline.runner import run_pipeline

    write_reviews(tmp_path / "reviews.jsonl", 60)
    config = {**reviews_config(tmp_path, tmp_path / "reviews.jsonl", {"epochs": 1, "batch_size": 16, "max_length": 32}),
              "annotate": {"enabled": True, "project": "events", "kinds": ["classification"], "min_annotators": 1,
                           "retrain_threshold": 2, "retrain_window_s": 600}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    cfg = load_config(tmp_path / "c.yaml")
    first = run_pipeline(cfg)
    records = first.output("annotate").read_kept().slice(0, 2).to_pylist()
    flip = {"pos": "neg", "neg": "neutral", "neutral": "pos"}
    seed_decisions(cfg, records, {r["id"]: flip[r["label"]] for r in records})

    url, env, start = prefect_server["url"], prefect_server["env"], prefect_server["start"]
    run = lambda args: subprocess.run(args, env={**env, "CURATE_SYNC_CRON": ""}, cwd=ROOT, capture_output=True,  # noqa: E731
                                      text=True, timeout=300)
    made = run([PREFECT, "work-pool", "create", "test-pool", "--type", "process"])
    assert made.returncode == 0, made.stderr[-2000:]
    deployed = run([sys.executable, "deploy/annotation_deployment.py", "--config", str(tmp_path / "c.yaml"),
                    "--work-pool", "test-pool"])
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    start([PREFECT, "worker", "start", "--pool", "test-pool"], "worker.log")

    # The sync's announcement, in its own process: two accepted decisions -> two events.
    sent = run([sys.executable, "-c", "import json, sys; from pipeline.config import load_config; "
                "from flows.events import announce; print(json.dumps(announce(load_config(sys.argv[1]))))",
                str(tmp_path / "c.yaml")])
    assert sent.returncode == 0, sent.stderr[-3000:]
    assert json.loads(sent.stdout.strip().splitlines()[-1]) == {"announced": 2, "new_accepted": 2, "due": True}

    deadline, runs = time.monotonic() + 420, []
    while time.monotonic() < deadline:
        runs = api(url, "/flow_runs/filter", {"deployments": {"name": {"any_": ["retrain"]}}})
        if runs and all(r["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") for r in runs) \
                and any(r["state_type"] == "COMPLETED" for r in runs):
            break
        time.sleep(3)
    states = sorted(r["state_type"] for r in runs)
    # Both triggers fire (a burst of 2 within the window, and "due"): one retrain runs, the
    # overlapping one is cancelled by the deployment's concurrency limit, or skips as already done.
    assert "COMPLETED" in states and "FAILED" not in states and "CRASHED" not in states, \
        (states, (tmp_path / "worker.log").read_text()[-3000:])
    assert all(r["created_by"] and r["created_by"]["type"] == "AUTOMATION" for r in runs)
    from pipeline.catalog import Catalog

    models = [m for m in Catalog(cfg.run.out_dir).models() if m["variant"] == "current"]
    assert len(models) == 2 and models[1]["data_version"] != models[0]["data_version"]
    retrained = json.loads((Path(cfg.run.out_dir) / "annotations" / "retrain.json").read_text())
    assert set(retrained["decisions"]) == {r["id"] for r in records}
