"""The curation flow under a real (temporary) Prefect server, on tiny records written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.states import Failed

from flows.curation import curation_flow, retry_on_transient_io
from pipeline.catalog import Catalog
from pipeline.config import ConfigError

pytestmark = pytest.mark.prefect


def write_sources(d: Path) -> None:
    good = [{"q": f"How do I sort a list of {n} numbers in Python?",
             "a": f"Call sorted(xs) to get a new sorted list of the {n} numbers, or xs.sort() to sort in place."}
            for n in range(12)]
    lines = [json.dumps(r) for r in good]
    lines += ["{not json", json.dumps({"q": "a prompt without an answer"}), json.dumps({"q": 7, "a": "numeric prompt"}),
              json.dumps({"q": "What is this?", "a": "Ceci est une phrase entièrement écrite en français, pas en anglais."})]
    (d / "instructions.jsonl").write_text("\n".join(lines) + "\n")
    rows = [f'"The parcel arrived on time and the product works as described, order {i}.",positive' for i in range(8)]
    rows += ['"",negative', '"Terrible support, the refund never came back after many weeks.",negative']
    (d / "reviews.csv").write_text("text,label\n" + "\n".join(rows) + "\n")


def config_dict(d: Path) -> dict:
    return {
        "run": {"name": "flowtest", "out_dir": str(d / "out"), "workers": 1},
        "sources": [
            {"name": "instr", "kind": "instruction", "format": "jsonl", "path": str(d / "instructions.jsonl"),
             "fields": {"prompt": "q", "response": "a"}},
            {"name": "reviews", "kind": "classification", "format": "csv", "path": str(d / "reviews.csv")},
        ],
        "augment": {"enabled": True, "augmenters": [{"method": "random_swap", "kinds": ["classification"]}],
                    "gates": {"similarity": {"enabled": False}}},
    }


@pytest.fixture(scope="module")
def first_run(prefect_harness, tmp_path_factory):
    d = tmp_path_factory.mktemp("flow")
    write_sources(d)
    state = curation_flow(config=config_dict(d), return_state=True)
    return d, state


def test_flow_runs_and_publishes_stage_counts(first_run):
    d, state = first_run
    assert state.is_completed(), state.message
    summary = state.result()
    stages = ["collect", "clean", "dedup_exact", "dedup_near", "dedup_semantic", "augment_random_swap", "split"]
    assert list(summary["stages"]) == stages
    for name, s in summary["stages"].items():
        assert s["in"] + s["generated"] == s["kept"] + s["rejected"], name
        assert sum(s["rejected_by_reason"].values()) == s["rejected"]
        assert Path(s["path"]).is_dir() and not s["reused"]
    collect = summary["stages"]["collect"]
    assert collect["in"] == 26 and collect["rejected"] == 4  # 16 JSONL lines + 10 CSV rows; 4 bad
    assert summary["stages"]["clean"]["in"] == collect["kept"]
    # The 12 "sort a list of n numbers" answers differ in one number: near duplicates, one kept.
    near = summary["stages"]["dedup_near"]
    assert near["rejected_by_reason"] == {"near_duplicate": near["rejected"]} and near["rejected"] >= 5
    swap = summary["stages"]["augment_random_swap"]
    assert swap["in"] == summary["stages"]["dedup_semantic"]["kept"] and swap["generated"] > 0
    assert swap["kept"] > swap["in"]  # some word swaps passed the gates
    assert summary["stages"]["split"]["in"] == swap["kept"]

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
            key=ArtifactFilterKey(any_=["curation-stage-counts"])))
    assert len(artifacts) == 1 and artifacts[0].type == "table"
    table = artifacts[0].data if isinstance(artifacts[0].data, list) else json.loads(artifacts[0].data)
    assert [row["stage"] for row in table] == stages
    assert {row["stage"]: row["kept"] for row in table} == {k: v["kept"] for k, v in summary["stages"].items()}

    runs = Catalog(d / "out").runs()
    assert [(r["run_id"], r["status"]) for r in runs] == [(summary["run_id"], "succeeded")]


def test_second_run_reuses_stored_stage_outputs(first_run):
    d, first = first_run
    summary = curation_flow(config=config_dict(d))
    before = first.result()["stages"]
    for name, s in summary["stages"].items():
        assert s["reused"], name
        assert s["path"] == before[name]["path"] and s["kept"] == before[name]["kept"]
    assert [r["status"] for r in Catalog(d / "out").runs()] == ["succeeded", "succeeded"]


def test_invalid_config_fails_before_any_task(prefect_harness, tmp_path):
    write_sources(tmp_path)
    bad = config_dict(tmp_path)
    bad["run"]["wokers"] = 2
    state = curation_flow(config=bad, return_state=True)
    assert state.is_failed()
    assert "run.wokers: unknown key" in state.message
    with pytest.raises(ConfigError, match="run.wokers: unknown key"):
        state.result()
    assert not (tmp_path / "out").exists()
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    assert task_runs == []


def test_failing_step_marks_the_run_failed_without_retrying(prefect_harness, tmp_path):
    write_sources(tmp_path)
    cfg = config_dict(tmp_path)
    cfg["sources"][1]["path"] = str(tmp_path / "missing.csv")  # a config mistake, not transient I/O
    state = curation_flow(config=cfg, return_state=True)
    assert state.is_failed()
    [run] = Catalog(tmp_path / "out").runs()
    assert run["status"] == "failed" and "missing.csv" in run["error"]
    with get_client(sync_client=True) as client:
        [task_run] = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    assert task_run.name.startswith("collect")
    assert task_run.state.is_failed() and task_run.run_count == 1


def test_collect_retries_only_transient_io_errors():
    def failed(exc: BaseException):
        return Failed(data=exc)

    assert retry_on_transient_io(None, None, failed(OSError("disk went away")))
    assert retry_on_transient_io(None, None, failed(TimeoutError("hub timed out")))
    assert retry_on_transient_io(None, None, failed(ConnectionError("reset")))
    assert not retry_on_transient_io(None, None, failed(ValueError("bad record")))
    assert not retry_on_transient_io(None, None, failed(ConfigError("bad config")))


def _task_runs(flow_run_id) -> list:
    with get_client(sync_client=True) as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))


def test_one_task_per_stage_and_reused_stages_show_as_cached(first_run):
    d, first = first_run
    stages = list(first.result()["stages"])
    runs = _task_runs(first.state_details.flow_run_id)
    assert sorted(r.name.rsplit("-", 1)[0] for r in runs if r.name.rsplit("-", 1)[0] in stages) == sorted(stages)
    again = curation_flow(config=config_dict(d), return_state=True)
    cached = {r.name.rsplit("-", 1)[0]: r.state.name for r in _task_runs(again.state_details.flow_run_id)}
    assert all(cached[s] == "Cached" for s in stages), cached


def test_library_log_lines_reach_the_run_logs(first_run):
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    _, state = first_run
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    lines = [(lg.name, lg.message) for lg in logs]
    assert any(name == "pipeline.engine" and "dedup_near: " in msg and "shard" in msg for name, msg in lines), lines


def test_the_dask_executor_runs_stage_tasks_on_the_cluster_with_identical_outputs(first_run, tmp_path):
    from flows.curation import run_curation, task_runner_for
    from pipeline.config import parse_config

    d, first = first_run
    cfg = parse_config(config_dict(d))
    cfg.run.out_dir = str(tmp_path / "dask-out")
    cfg.run.executor = "dask"
    assert type(task_runner_for(cfg)).__name__ == "DaskTaskRunner"
    state = run_curation(cfg, return_state=True)
    assert state.is_completed(), state.message
    local, dask = first.result()["stages"], state.result()["stages"]
    assert list(dask) == list(local)
    for name in local:
        assert (dask[name]["fingerprint"], dask[name]["kept"]) == (local[name]["fingerprint"], local[name]["kept"])
    runs = _task_runs(state.state_details.flow_run_id)
    assert {r.name.rsplit("-", 1)[0] for r in runs} >= set(local)
    assert all(r.state.is_completed() for r in runs)
