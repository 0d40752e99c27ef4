"""The scheduled deployment is well-formed: cron schedule, entrypoint, validated config path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from deploy.curation_deployment import DEFAULT_CRON, ENTRYPOINT, flow_parameters
from pipeline.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_deployment_has_the_schedule_and_parameters(tmp_path):
    from prefect.schedules import Cron

    from flows.curation import curation_flow

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"sources:\n  - {{name: s, kind: instruction, format: jsonl, path: {tmp_path / 'x.jsonl'}}}\n")
    params = flow_parameters(str(cfg))
    dep = curation_flow.to_deployment(name="nightly-curation", schedule=Cron(DEFAULT_CRON, timezone="UTC"),
                                      parameters=params)
    assert dep.parameters == {"config_path": str(cfg.resolve())}
    assert [s.schedule.cron for s in dep.schedules] == [DEFAULT_CRON]
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: []\nextra: 1\n")
    with pytest.raises(ConfigError):
        flow_parameters(str(bad))


def test_prefect_yaml_declares_the_same_deployment():
    project = yaml.safe_load((ROOT / "deploy" / "prefect.yaml").read_text())
    dep, sync, retrain = project["deployments"]
    from deploy import annotation_deployment
    from flows.events import ACCEPTED, RETRAIN_DUE, SUBMITTED
    from pipeline.annotate.config import AnnotateConfig

    assert sync["entrypoint"] == annotation_deployment.ENTRYPOINT and sync["name"] == annotation_deployment.DEPLOYMENT
    assert sync["schedules"][0]["cron"] == annotation_deployment.DEFAULT_CRON
    assert [t["expect"] for t in sync["triggers"]] == [[SUBMITTED]]
    assert retrain["entrypoint"] == annotation_deployment.RETRAIN_ENTRYPOINT and "schedules" not in retrain
    burst, due = retrain["triggers"]
    defaults = AnnotateConfig()
    assert burst["expect"] == [ACCEPTED] and due["expect"] == [RETRAIN_DUE]
    assert (burst["threshold"], burst["within"]) == (defaults.retrain_threshold, defaults.retrain_window_s)
    assert [d["concurrency_limit"] for d in (dep, sync, retrain)] == [
        {"limit": 1, "collision_strategy": s} for s in ("ENQUEUE", "CANCEL_NEW", "CANCEL_NEW")]
    assert dep["entrypoint"] == ENTRYPOINT and (ROOT / ENTRYPOINT.split(":")[0]).is_file()
    assert dep["schedules"][0]["cron"] == DEFAULT_CRON
    assert json.dumps(project["pull"]).count("set_working_directory") == 1


def test_annotation_sync_deployment_has_its_schedule(tmp_path):
    from prefect.schedules import Cron

    from deploy.annotation_deployment import DEFAULT_CRON as SYNC_CRON
    from flows.annotation import annotation_sync_flow

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"sources:\n  - {{name: s, kind: instruction, format: jsonl, path: {tmp_path / 'x.jsonl'}}}\n")
    dep = annotation_sync_flow.to_deployment(name="annotation-sync", schedule=Cron(SYNC_CRON, timezone="UTC"),
                                             parameters=flow_parameters(str(cfg)))
    assert [s.schedule.cron for s in dep.schedules] == [SYNC_CRON]
    assert dep.parameters == {"config_path": str(cfg.resolve())}


def test_retrain_deployment_is_triggered_by_this_run_directorys_events(tmp_path):
    from deploy.annotation_deployment import retrain_deployment
    from flows.events import ACCEPTED, RETRAIN_DUE, run_dir_resource

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"run: {{out_dir: {tmp_path / 'out'}}}\n"
                   f"sources:\n  - {{name: s, kind: instruction, format: jsonl, path: {tmp_path / 'x.jsonl'}}}\n"
                   "annotate: {retrain_threshold: 7, retrain_window_s: 120}\n")
    flow, entrypoint, name, options = retrain_deployment(str(cfg))
    dep = flow.to_deployment(name=name, **options)
    burst, due = dep.triggers
    resource = run_dir_resource(tmp_path / "out")["prefect.resource.id"]
    assert burst.expect == {ACCEPTED} and burst.threshold == 7 and burst.within.total_seconds() == 120
    assert due.expect == {RETRAIN_DUE} and due.threshold == 1
    assert all(t.match.root["prefect.resource.id"] == resource for t in (burst, due))
    assert burst.parameters == {"config_path": str(cfg)} and not dep.schedules
    assert dep.concurrency_limit == 1 and dep.concurrency_options.collision_strategy.value == "CANCEL_NEW"
