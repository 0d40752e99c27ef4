"""The whole annotation loop against a real Label Studio server started here.

Project from schemas/ -> push with pre-annotations -> two annotators (agreement, a disagreement,
an update) -> pull -> merge -> re-push and re-pull change nothing -> a Prefect sync flow retrains
on the new labels, and the model's data version holds them.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.annotate.client import Project, SdkClient
from pipeline.annotate.label_configs import annotation_result, config_labels

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


WORDS = {"pos": ["great", "wonderful", "excellent", "lovely", "fantastic", "superb"],
         "neg": ["awful", "terrible", "horrible", "dreadful", "poor", "disappointing"],
         "neutral": ["okay", "average", "fine", "ordinary", "acceptable", "standard"]}
FILLER = ["delivery", "colour", "price", "box", "manual", "battery", "screen", "seller", "size", "smell",
          "weight", "noise", "cable", "handle", "lid", "strap", "zip", "wheel", "button", "glass"]


def write_reviews(path: Path, n: int = 60) -> None:
    rng = random.Random(7)
    rows = []
    for i in range(n):
        label = list(WORDS)[i % 3]
        extra = " ".join(rng.sample(FILLER, 4))
        rows.append({"text": f"Review {i}: the {extra} were {rng.choice(WORDS[label])} overall.", "label": label})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def config_dict(d: Path) -> dict:
    return {
        "run": {"name": "annotate", "out_dir": str(d / "out"), "workers": 1},
        "sources": [{"name": "reviews", "kind": "classification", "format": "jsonl", "path": str(d / "reviews.jsonl")}],
        "dedup": {"near": {"enabled": False}, "semantic": {"enabled": False}},
        "train": [{"name": "reviews", "kind": "classification",
                   "train": {"epochs": 1, "batch_size": 16, "max_length": 32, "max_eval_records": 16}}],
        "annotate": {"enabled": True, "project": "reviews test", "kinds": ["classification"],
                     "annotators_per_task": 2, "min_annotators": 2, "merge_rule": "majority",
                     "retrain_threshold": 2,
                     "select": {"strategies": [{"name": "label_errors", "budget": 5},
                                               {"name": "least_confident", "budget": 5},
                                               {"name": "random", "budget": 4}], "max_tasks": 12},
                     "push": {"batch_size": 5}},
    }


@pytest.fixture(scope="module")
def server(label_studio_server):
    return label_studio_server


@pytest.fixture(scope="module")
def loop(server, tmp_path_factory):
    """The data, a first model, the project and a first push."""
    from pipeline.workflows.review import push_for_review
    from pipeline.config import parse_config
    from pipeline.runner import run_pipeline

    d = tmp_path_factory.mktemp("loop")
    write_reviews(d / "reviews.jsonl")
    cfg = parse_config(config_dict(d))
    ctx = run_pipeline(cfg)
    model = ctx.catalog.models(ctx.run_id)[0]
    table = ctx.output("annotate").read_kept()
    client = SdkClient(server.url, server.token)
    manifest = push_for_review(cfg, client)["classification"]
    p = manifest["project"]
    return {"dir": d, "cfg": cfg, "model": model, "table": table, "client": client, "token": server.token,
            "project": Project(p["id"], p["title"], p["created"], p["updated"]), "push": manifest}


def test_project_comes_from_the_schema_with_the_data_labels(loop):
    from pipeline.annotate.sync import ensure_projects

    client, project = loop["client"], loop["project"]
    assert project.created
    xml = client.sdk.projects.get(project.id).label_config
    assert config_labels(xml) == ["neg", "neutral", "pos"]
    again = ensure_projects(client, loop["cfg"].annotate, loop["table"])["classification"]
    assert (again.id, again.created, again.updated) == (project.id, False, False)


def test_push_sends_selected_records_with_pre_annotations(loop):
    c = loop["push"]["counts"]
    assert c["selected"] == 12 and c["imported"] == 12 and c["already_present"] == 0 and c["rejected"] == 0
    index = loop["client"].task_index(loop["project"].id)
    assert len(index) == 12 and all(len(v) == 1 for v in index.values())
    task = loop["client"].sdk.tasks.get(next(iter(index.values()))[0])
    assert task.data["record_id"] in index and task.data["text"]
    pred = task.predictions[0]
    model_version = pred.model_version if hasattr(pred, "model_version") else pred["model_version"]
    assert model_version.startswith(Path(loop["model"]["model_dir"]).name)
    # The project names the model its predictions come from.
    assert loop["client"].sdk.projects.get(loop["project"].id).model_version == model_version
    score = pred.score if hasattr(pred, "score") else pred["score"]
    assert 0 < score <= 1


def annotate_as_two(loop) -> dict:
    """admin and a second annotator: agree on a relabel, disagree once, agree on a confirm; the
    admin's first answer on a fourth task is updated later (by the caller)."""
    sdk = loop["client"].sdk
    admin = loop["client"].check()["id"]
    other = sdk.users.create(email="second@curate.local", username="second", first_name="Second").id
    index = loop["client"].task_index(loop["project"].id)
    labels = {r["id"]: r["label"] for r in loop["table"].to_pylist()}
    rids = sorted(index)[:4]
    flip = {"pos": "neg", "neg": "neutral", "neutral": "pos"}

    def vote(rid: str, user: int, label: str):
        return sdk.annotations.create(id=index[rid][0], result=annotation_result("classification", label=label),
                                      completed_by=user)

    relabel, split, confirm, updated = rids
    for user in (admin, other):
        vote(relabel, user, flip[labels[relabel]])
        vote(confirm, user, labels[confirm])
    vote(split, admin, labels[split])
    vote(split, other, flip[labels[split]])
    first = vote(updated, admin, flip[labels[updated]])
    vote(updated, other, labels[updated])
    return {"relabel": relabel, "split": split, "confirm": confirm, "updated": updated, "labels": labels,
            "flip": flip, "first": first.id}


@pytest.fixture(scope="module")
def annotated(loop):
    from pipeline.annotate.sync import pull_all

    marks = annotate_as_two(loop)
    first_pull = pull_all(loop["client"], loop["cfg"].annotate, loop["cfg"].run.out_dir)["classification"]
    sdk = loop["client"].sdk
    labels = marks["labels"]
    sdk.annotations.update(id=marks["first"],
                           result=annotation_result("classification", label=labels[marks["updated"]]))
    second_pull = pull_all(loop["client"], loop["cfg"].annotate, loop["cfg"].run.out_dir)["classification"]
    third_pull = pull_all(loop["client"], loop["cfg"].annotate, loop["cfg"].run.out_dir)["classification"]
    return {**marks, "pulls": [first_pull, second_pull, third_pull]}


def test_pull_is_incremental_and_versioned(loop, annotated):
    from pipeline.annotate.sync import store_for

    first, second, third = annotated["pulls"]
    assert (first["new"], first["updated"], first["deleted"]) == (8, 0, 0)
    assert (second["new"], second["updated"], second["deleted"]) == (0, 1, 0)
    assert (third["new"], third["updated"], third["deleted"]) == (0, 0, 0)
    store = store_for(loop["cfg"].run.out_dir, loop["cfg"].annotate, "classification")
    versions = store.versions().to_pylist()
    assert len(versions) == 9  # 8 annotations, one of them in two versions
    assert {v["annotator"] for v in versions} == {"admin@curate.local", "second@curate.local"}
    assert all(v["task_id"] and v["record_id"] and v["annotation_id"] for v in versions)
    assert len(store.live()) == 8


def test_a_first_pull_stores_a_task_whose_only_annotation_is_a_skip(loop, annotated, tmp_path):
    """A skip is a cancelled annotation: Label Studio leaves it out of `total_annotations`, so a
    first pull that asked only for annotated tasks never saw it, and later pulls start after it."""
    from pipeline.annotate.pull import pull_annotations
    from pipeline.annotate.store import AnnotationStore

    index = loop["client"].task_index(loop["project"].id)
    touched = {annotated[k] for k in ("relabel", "split", "confirm", "updated")}
    lone = next(rid for rid in sorted(index) if rid not in touched)
    skip = loop["client"].sdk.annotations.create(id=index[lone][0], result=[], was_cancelled=True)
    fresh = AnnotationStore(tmp_path / "store")  # no cursor: this is its first pull
    counts = pull_annotations(loop["client"], loop["project"].id, fresh)
    versions = fresh.versions().to_pylist()
    assert counts["new"] == 9 == len(versions)  # the 8 annotations, and the skip
    skipped = [v for v in versions if v["was_cancelled"]]
    assert [v["annotation_id"] for v in skipped] == [skip.id]
    assert all(v["annotation_id"] != skip.id for v in fresh.live(fresh.versions()))  # stored, not a label
    loop["client"].sdk.annotations.delete(id=skip.id)  # the tests after this one count the 8


def test_repush_creates_no_tasks(loop, annotated):
    from pipeline.annotate.push import push_records
    from pipeline.annotate.sync import store_for

    store = store_for(loop["cfg"].run.out_dir, loop["cfg"].annotate, "classification")
    ledger = store.ledger()
    selected = pa.table({"id": ledger.column("record_id"), "strategy": ledger.column("strategy"),
                         "reason": ledger.column("reason"), "context_id": pa.nulls(ledger.num_rows, pa.string())})
    again = push_records(loop["client"], loop["project"].id, loop["table"], selected, store, loop["cfg"].annotate.push)
    assert again["counts"]["imported"] == 0 and again["counts"]["already_present"] == 12
    assert sum(len(v) for v in loop["client"].task_index(loop["project"].id).values()) == 12


def accepted_events(out_dir: str, want: int, wait_s: float = 20.0) -> list:
    """The `curate.annotation.accepted` events of this run directory in the Prefect API (sent
    asynchronously: polled until `want` arrive or the wait ends)."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    from flows.events import ACCEPTED, run_dir_resource

    rid = run_dir_resource(out_dir)["prefect.resource.id"]
    deadline, events = time.monotonic() + wait_s, []
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            # A new filter each time: its default time window ends when it is made.
            flt = EventFilter(event=EventNameFilter(name=[ACCEPTED]), resource=EventResourceFilter(id=[rid]))
            events = client.read_events(flt, limit=50).events
            if len(events) >= want:
                break
            time.sleep(0.5)
    return events


def test_sync_flow_retrains_on_the_merged_labels(prefect_harness, loop, annotated):
    from flows.annotation import annotation_sync_flow
    from pipeline.catalog import Catalog

    cfg, server_url = loop["cfg"], loop["client"].url
    token = loop["token"]
    result = annotation_sync_flow(config=cfg.model_dump(mode="json"), url=server_url,
                                  token=token, retrain=True)
    assert result["pulled"]["classification"]["new"] == 0
    # The disagreement goes back in the queue for a third annotator, once.
    assert result["pulled"]["classification"]["requeue"] == {"unclear": 1, "requeued": 1, "at_max": 0,
                                                             "not_pushed_from_here": 0}
    split_task = loop["client"].task_index(loop["project"].id)[annotated["split"]][0]
    task = loop["client"].sdk.tasks.get(split_task)
    assert task.overlap == 3 and not task.is_labeled
    assert result["new_accepted"] == 3  # relabel, confirm, and the updated task; the split stays queued
    assert result["announced"] == 3 and result["due"] and result["retrained"]
    # Each newly accepted decision went out as a Prefect event naming the run directory.
    events = accepted_events(cfg.run.out_dir, 3)
    assert len({e.payload["record_id"] for e in events}) == 3 and annotated["relabel"] in {
        e.payload["record_id"] for e in events}
    model = result["retrain"]["models"][0]
    assert model["data_version"] != loop["model"]["data_version"]
    assert model["previous_data_version"] == loop["model"]["data_version"]
    assert set(model["metrics"]) and all("before" in v and "after" in v for v in model["metrics"].values())
    # The model's data version holds the human label, with its lineage.
    row = next(m for m in Catalog(cfg.run.out_dir).models() if m["model_id"] == model["model_id"])
    kept = pq.read_table(Path(row["split_path"]) / "kept").to_pylist()
    relabel = annotated["relabel"]
    new = [r for r in kept if r["parent_id"] == relabel]
    assert len(new) == 1 and new[0]["label"] == annotated["flip"][annotated["labels"][relabel]]
    op = json.loads(new[0]["operations"][-1]["params"])
    assert new[0]["operations"][-1]["op"] == "annotate.relabel" and len(op["annotation_ids"]) == 2
    assert not any(r["id"] == relabel for r in kept)
    split_rec = next(r for r in kept if r["id"] == annotated["split"])  # unclear: unchanged
    assert not any(o["op"].startswith("annotate.") for o in split_rec["operations"])
    # Nothing new since: the next sync does not retrain.
    again = annotation_sync_flow(config=cfg.model_dump(mode="json"), url=server_url, token=token, retrain=True)
    assert again["new_accepted"] == 0 and again["announced"] == 0 and not again["retrained"]
    assert again["pulled"]["classification"]["requeue"]["requeued"] == 0


def test_open_tasks_get_a_new_models_predictions(loop, annotated):
    """After a retrain the tasks annotators have not finished show the new model's guesses; the
    finished ones are left alone, and a second refresh for the same model changes nothing."""
    from pipeline.annotate.predict import model_version
    from pipeline.annotate.refresh import PREDICTIONS_VERSION, refresh_predictions
    from pipeline.annotate.sync import store_for
    from pipeline.catalog import Catalog

    cfg, client, pid = loop["cfg"], loop["client"], loop["project"].id
    current = [m["model_dir"] for m in Catalog(cfg.run.out_dir).models() if m["variant"] == "current"]
    first, newest = current[0], current[-1]
    shown = store_for(cfg.run.out_dir, cfg.annotate, "classification").state()[PREDICTIONS_VERSION]
    # The sync's retrain refreshed the open tasks if its model became the champion: use the other one.
    target = newest if shown != model_version(newest) else first
    assert model_version(target) != shown
    models = {"classification": target}
    open_tasks = client.open_tasks(pid)
    done = {rid for rid, tasks in client.task_index(pid).items()} - set(open_tasks)
    assert open_tasks and done  # some tasks are fully annotated, the rest still open
    out = refresh_predictions(client, cfg.annotate, cfg.run.out_dir, loop["table"], models)["classification"]
    assert out["refreshed"] == out["open_tasks"] == len(open_tasks) and not out["unchanged"]
    assert client.sdk.projects.get(id=pid).model_version == model_version(target)
    task = client.sdk.tasks.get(id=next(iter(open_tasks.values())))
    assert model_version(target) in {p.model_version for p in task.predictions}
    again = refresh_predictions(client, cfg.annotate, cfg.run.out_dir, loop["table"], models)["classification"]
    assert again["unchanged"] and again["refreshed"] == 0


def test_annotate_stage_accounts_and_reports_agreement(loop, annotated):
    from pipeline.runner import run_pipeline

    ctx = run_pipeline(loop["cfg"], until="annotate")
    out = ctx.output("annotate")
    c = out.counts
    assert c["in"] + c.get("generated", 0) == c["kept"] + c["rejected"]
    assert c["rejected_by_reason"] == {"annotation_override": 1} and c["generated"] == 1
    assert out.manifest["counters"]["decision_unclear"] == 1
    decisions = pq.read_table(out.path / "decisions.parquet").to_pylist()
    status = {d["record_id"]: d["status"] for d in decisions}
    assert status[annotated["split"]] == "unclear" and status[annotated["relabel"]] == "accepted"
    report = json.loads((out.path / "agreement.json").read_text())["classification"]
    pair = report["annotators"]["admin@curate.local"]["pairwise"]["second@curate.local"]
    assert pair["n"] == 4 and pair["agreement"] == 0.75
    html = (Path(loop["cfg"].run.out_dir) / "report.html").read_text()
    assert "Annotation: decisions and agreement" in html and "second@curate.local" in html


def test_cli_status_and_pull(loop, annotated, tmp_path, monkeypatch):
    import yaml
    from typer.testing import CliRunner

    from pipeline.cli import app

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config_dict(loop["dir"])))
    runner = CliRunner()
    status = runner.invoke(app, ["annotate", "status", "--config", str(path), "--json"])
    assert status.exit_code == 0, status.output
    s = json.loads(status.stdout)["kinds"]["classification"]
    assert s["tasks"] == 12 and s["annotations"] == 8 and s["decisions"]["unclear"] == 1
    assert [u["record_id"] for u in s["unclear"]] == [annotated["split"]] and s["skips"] == 0
    shown = runner.invoke(app, ["annotate", "status", "--config", str(path)])
    assert "unclear (annotators disagree): 1" in shown.stdout and annotated["split"] in shown.stdout
    monkeypatch.setenv("CURATE_LS_URL", loop["client"].url)
    monkeypatch.setenv("CURATE_LS_TOKEN", loop["token"])
    pulled = runner.invoke(app, ["annotate", "pull", "--config", str(path)])
    assert pulled.exit_code == 0, pulled.output
    assert loop["token"] not in pulled.output
    # A skip is pulled and listed by status, with who skipped which record.
    index = loop["client"].task_index(loop["project"].id)
    touched = {annotated[k] for k in ("relabel", "split", "confirm", "updated")}
    lone = next(rid for rid in sorted(index) if rid not in touched)
    skip = loop["client"].sdk.annotations.create(id=index[lone][0], result=[], was_cancelled=True)
    pulled = runner.invoke(app, ["annotate", "pull", "--config", str(path)])
    assert pulled.exit_code == 0, pulled.output
    me = loop["client"].check()["email"]
    assert f"classification: 1 new or changed version(s) by {me} 1; 0 deleted; decisions accepted" in pulled.stdout
    s = json.loads(runner.invoke(app, ["annotate", "status", "--config", str(path), "--json"]).stdout)
    skipped = s["kinds"]["classification"]["skipped"]
    assert [k["record_id"] for k in skipped] == [lone] and s["kinds"]["classification"]["annotations"] == 8
    loop["client"].sdk.annotations.delete(id=skip.id)
    monkeypatch.setenv("CURATE_LS_TOKEN", "not-the-token-000000")
    refused = runner.invoke(app, ["annotate", "pull", "--config", str(path)])
    assert refused.exit_code == 2 and "refused the API token" in refused.output  # a user's mistake: exit 2
    assert "not-the-token-000000" not in refused.output
