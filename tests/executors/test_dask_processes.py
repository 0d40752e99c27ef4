"""Dask as a user runs it across hosts: `dask scheduler` and `dask worker` started as separate
processes on loopback, the pipeline pointed at the scheduler's address. A worker killed in the
middle of a stage: the stage completes on the remaining workers, with outputs identical to an
uninterrupted run, and no partial part is ever read."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from pipeline.clean.config import CleanConfig
from pipeline.clean.stage import CleanStage
from pipeline.collect import CollectStage
from pipeline.collect.config import CollectConfig
from pipeline.engine import run_stage
from pipeline.executors import make_executor
from pipeline.executors.config import DaskConfig
from pipeline.executors.local import LocalExecutor
from pipeline.store import StageStore
from tests.executors.test_dask import _inputs, _run_all

pytestmark = pytest.mark.slow
DASK = str(Path(sys.executable).parent / "dask")
# Workers as the README starts them: with the project's Dask settings.
WORKER_ENV = {**os.environ, "DASK_CONFIG": str(Path(__file__).resolve().parents[2] / "deploy" / "dask")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers, each its own process group; every socket on 127.0.0.1."""
    logs = tmp_path_factory.mktemp("dask-logs")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", "127.0.0.1:0"], stdout=open(logs / "scheduler.log", "w"),
                              stderr=subprocess.STDOUT, start_new_session=True)]
    for i in range(2):
        procs.append(subprocess.Popen([DASK, "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                                       "--nthreads", "1", "--dashboard-address", "127.0.0.1:0",
                                       "--name", f"w{i}"], stdout=open(logs / f"worker{i}.log", "w"),
                                      stderr=subprocess.STDOUT, start_new_session=True, env=WORKER_ENV))
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
    yield address, procs
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        p.wait(timeout=30)


def _listening_on_loopback_only(pids: list[int]) -> bool:
    pids = {p for pid in pids for p in [pid, *[c.pid for c in psutil.Process(pid).children(recursive=True)]]}
    addrs = [c.laddr.ip for c in psutil.net_connections("inet") if c.status == "LISTEN" and c.pid in pids]
    return bool(addrs) and all(ip == "127.0.0.1" for ip in addrs)


def test_separate_scheduler_and_workers_give_the_local_outputs(tmp_path, cluster):
    address, procs = cluster
    assert _listening_on_loopback_only([p.pid for p in procs])
    sources = _inputs(tmp_path / "data")
    local = _run_all(tmp_path / "local", sources, LocalExecutor(1))
    with make_executor("dask", dask=DaskConfig(address=address)) as executor:
        remote = _run_all(tmp_path / "remote", sources, executor)
        assert executor.describe()["workers"] == 2 and not executor.describe()["started_here"]
    for name, a in local.items():
        b = remote[name]
        assert (a.counts, a.fingerprint, a.manifest["counters"]) == (b.counts, b.fingerprint, b.manifest["counters"])


def test_embeddings_run_on_the_worker_that_offers_the_resource(tmp_path, cluster):
    """`dedup.semantic.worker_resources: {GPU: 1}` places the embedding tasks on the worker started
    with `--resources GPU=1` (here a CPU worker labelled so; the placement is what is tested)."""
    from distributed import get_task_stream

    from pipeline.dedup.config import DedupConfig
    from pipeline.dedup.stage import DedupStage
    from tests.dedup.helpers import qa, stored_input

    address, _ = cluster
    gpu = subprocess.Popen([DASK, "worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                            "--dashboard-address", "127.0.0.1:0", "--resources", "GPU=1", "--name", "gpu"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                           env=WORKER_ENV)
    try:
        store = StageStore(tmp_path)
        rows = [qa(f"How do I reset password number {i}?", f"Open settings {i}.") for i in range(40)]
        source = stored_input(store, rows)
        config = DedupConfig.model_validate({"semantic": {"device": "cpu", "worker_resources": {"GPU": 1}}})
        with make_executor("dask", dask=DaskConfig(address=address)) as executor:
            executor.client.wait_for_workers(3, timeout=120)
            gpu_addr = next(a for a, w in executor.client.scheduler_info(n_workers=-1)["workers"].items()
                            if w.get("name") == "gpu")
            with get_task_stream(executor.client) as stream:
                out = run_stage(DedupStage("semantic", config, tmp_path / "cache"), source, store, executor)
        embed = [t for t in stream.data if t["key"].startswith("dedup_semantic-plan")]
        assert embed and {t["worker"] for t in embed} == {gpu_addr}
        assert out.counts["in"] == 40
    finally:
        os.killpg(gpu.pid, signal.SIGTERM)
        gpu.wait(timeout=30)


def test_a_worker_killed_mid_stage_the_stage_completes_identically(tmp_path, cluster):
    address, procs = cluster
    sources = _inputs(tmp_path / "data", files=4, per_file=1500)
    collected = run_stage(CollectStage(sources, CollectConfig(part_rows=200)), None, StageStore(tmp_path / "ref"),
                          batch_size=50)
    reference = run_stage(CleanStage(CleanConfig()), collected, StageStore(tmp_path / "ref"), batch_size=50)

    store = StageStore(tmp_path / "killed")
    collected = run_stage(CollectStage(sources, CollectConfig(part_rows=200)), None, store, batch_size=50)
    assert len(collected.parts) >= 20
    victim = procs[1]  # a worker's nanny; its process group holds the worker too
    result: dict = {}

    def run() -> None:
        with make_executor("dask", dask=DaskConfig(address=address)) as executor:
            result["out"] = run_stage(CleanStage(CleanConfig()), collected, store, executor, batch_size=50)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(store.stages_dir.glob(".clean-*.tmp-*/stats/part-*.json")):
        time.sleep(0.05)
    os.killpg(victim.pid, signal.SIGKILL)  # nanny and worker: the scheduler loses the worker
    thread.join(timeout=600)
    out = result["out"]
    assert (out.counts, out.fingerprint) == (reference.counts, reference.fingerprint)
    assert out.read_kept().equals(reference.read_kept())
    # No hidden half-written part survived into the published folder.
    assert not [p for d in ("kept", "rejected", "stats") for p in (out.path / d).glob(".*")]
