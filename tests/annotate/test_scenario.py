"""The held-out annotation scenario, against the real Label Studio server: three annotator accounts
on one project, with agreement, a disagreement, a three-way conflict, a lone skip, an update and a
delete, pulled over several syncs. Every annotation version is stored exactly once, and the
merged decisions, skips and unclear records come out as a team would read them.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from tests.annotate.test_sync import write_reviews

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="module")
def project(label_studio_server, tmp_path_factory):
    from pipeline.annotate.client import SdkClient
    from pipeline.config import parse_config
    from pipeline.workflows.review import push_for_review

    d = tmp_path_factory.mktemp("scenario")
    write_reviews(d / "reviews.jsonl", 30)
    cfg = parse_config({
        "run": {"name": "scenario", "out_dir": str(d / "out"), "workers": 1},
        "sources": [{"name": "reviews", "kind": "classification", "format": "jsonl", "path": str(d / "reviews.jsonl")}],
        "dedup": {"near": {"enabled": False}, "semantic": {"enabled": False}},
        "annotate": {"enabled": True, "project": "scenario test", "kinds": ["classification"],
                     "annotators_per_task": 3, "min_annotators": 2, "merge_rule": "majority",
                     "select": {"strategies": [{"name": "random", "budget": 8}], "max_tasks": 8}},
    })
    client = SdkClient(label_studio_server.url, label_studio_server.token)
    pushed = push_for_review(cfg, client)["classification"]
    sdk = client.sdk
    users = {name: sdk.users.create(email=f"{name}@scenario.local", username=f"scenario-{name}").id
             for name in ("ann1", "ann2", "ann3")}
    return {"cfg": cfg, "client": client, "project_id": pushed["project"]["id"], "users": users}


@pytest.fixture(scope="module")
def scenario(project):
    from pipeline.annotate.label_configs import annotation_result
    from pipeline.annotate.sync import pull_all, store_for

    client, cfg, users = project["client"], project["cfg"], project["users"]
    sdk = client.sdk
    index = client.task_index(project["project_id"])
    agree, split, conflict, skip, update, delete = sorted(index)[:6]

    def vote(rid: str, who: str, label: str):
        return sdk.annotations.create(id=index[rid][0], completed_by=users[who],
                                      result=annotation_result("classification", label=label))

    for who in ("ann1", "ann2", "ann3"):
        vote(agree, who, "pos")
    vote(split, "ann1", "pos")
    vote(split, "ann2", "neg")
    for who, label in (("ann1", "pos"), ("ann2", "neg"), ("ann3", "neutral")):
        vote(conflict, who, label)
    sdk.annotations.create(id=index[skip][0], completed_by=users["ann3"], result=[], was_cancelled=True)
    first = vote(update, "ann1", "neg")
    vote(update, "ann2", "pos")
    doomed = vote(delete, "ann2", "neutral")
    pulls = [pull_all(client, cfg.annotate, cfg.run.out_dir)["classification"]]
    sdk.annotations.update(id=first.id, result=annotation_result("classification", label="pos"))
    sdk.annotations.delete(id=doomed.id)
    pulls.append(pull_all(client, cfg.annotate, cfg.run.out_dir)["classification"])
    pulls.append(pull_all(client, cfg.annotate, cfg.run.out_dir)["classification"])
    store = store_for(cfg.run.out_dir, cfg.annotate, "classification")
    return {"store": store, "pulls": pulls, "ids": dict(agree=agree, split=split, conflict=conflict, skip=skip,
                                                         update=update, delete=delete),
            "first": first.id, "doomed": doomed.id}


def test_each_version_is_stored_once_over_repeated_pulls(scenario):
    first, second, third = scenario["pulls"]
    # 3 + 2 + 3 + 1 (the skip) + 2 + 1 annotations; then one update and one delete; then nothing.
    assert (first["new"], first["updated"], first["deleted"]) == (12, 0, 0)
    assert (second["new"], second["updated"], second["deleted"]) == (0, 1, 1)
    assert (third["new"], third["updated"], third["deleted"]) == (0, 0, 0)
    versions = scenario["store"].versions().to_pylist()
    keys = Counter((v["annotation_id"], v["updated_at"], v["deleted"]) for v in versions)
    assert len(versions) == 14 and max(keys.values()) == 1
    by_annotation = Counter(v["annotation_id"] for v in versions)
    assert by_annotation[scenario["first"]] == 2 and by_annotation[scenario["doomed"]] == 2
    assert {v["annotator"] for v in versions} == {f"ann{i}@scenario.local" for i in (1, 2, 3)}


def test_decisions_skips_and_unclear_records_as_a_team_reads_them(scenario, project):
    from pipeline.annotate.apply import decide
    from pipeline.annotate.status import annotation_status

    ids, store, cfg = scenario["ids"], scenario["store"], project["cfg"]
    assert scenario["doomed"] not in {v["annotation_id"] for v in store.live()}
    decided = {rid: d for rid, (d, _) in decide("classification", store.live(), cfg.annotate.merge_rule,
                                                 cfg.annotate.min_annotators).items()}
    assert (decided[ids["agree"]].status, decided[ids["agree"]].verdict) == ("accepted", "pos")
    # The updated answer counts, not the first one: both annotators now say pos.
    assert (decided[ids["update"]].status, decided[ids["update"]].verdict) == ("accepted", "pos")
    assert decided[ids["split"]].status == "unclear" and decided[ids["conflict"]].status == "unclear"
    assert ids["delete"] not in decided and ids["skip"] not in decided  # no live vote on either
    status = annotation_status(cfg.run.out_dir, cfg.annotate)["kinds"]["classification"]
    assert [u["record_id"] for u in status["unclear"]] == sorted([ids["split"], ids["conflict"]])
    assert [(s["record_id"], s["annotator"]) for s in status["skipped"]] == [(ids["skip"], "ann3@scenario.local")]
    assert status["versions"] == 14 and status["skips"] == 1
