"""Tracking against a real MLflow server process on 127.0.0.1 (slow: the server takes ~20 s to start).

A model trained here is logged with its weights uploaded over HTTP; on "another machine" (the
model folder deleted) the champion's weights come back from the server and still predict; a
weaker retrain leaves the champion where it was.
"""

from __future__ import annotations

import shutil

import pytest

from tests.tracking.test_champion import GOOD, WEAK, config, write_reviews

pytestmark = pytest.mark.slow


def test_models_tracked_on_a_server_and_the_champion_fetched_elsewhere(mlflow_server, tmp_path):
    from pipeline.annotate.predict import classifier_predictions
    from pipeline.config import parse_config
    from pipeline.runner import run_pipeline
    from pipeline.tracking.champion import champion_model_dir, current_champion
    from pipeline.tracking.store import open_tracker

    write_reviews(tmp_path / "reviews.jsonl", 90)

    def train(settings: dict):
        cfg = parse_config({**config(tmp_path, tmp_path / "reviews.jsonl", settings),
                            "tracking": {"uri": mlflow_server["url"]}})
        ctx = run_pipeline(cfg)
        return cfg, ctx.catalog.models(ctx.run_id)[0]

    cfg, good = train(GOOD)
    tracker = open_tracker(cfg)
    assert tracker.uri == mlflow_server["url"] and tracker.uploads_weights
    run = tracker.client.get_run(good["mlflow_run_id"])
    assert run.data.tags["curate.data_version"] == good["data_version"]
    weights = {a.path for a in tracker.client.list_artifacts(good["mlflow_run_id"], "model")}
    assert "model/training.json" in weights and "model/config.json" in weights
    assert [a.path for a in tracker.client.list_artifacts(good["mlflow_run_id"], "report")] == ["report/report.html"]
    # The artifacts live on the server's side, not in the run directory.
    assert any((mlflow_server["dir"] / "artifacts").rglob("model.safetensors"))
    assert good["champion"]["decision"] == "promoted"

    _, weak = train({**WEAK, "seed": 3})
    assert weak["champion"]["decision"] == "kept" and weak["champion"]["champion_version"] == good["model_version"]
    assert int(current_champion(tracker, "tracked-reviews").version) == good["model_version"]

    # Another machine: the champion's folder is not here; its weights come from the server.
    shutil.rmtree(good["model_dir"])
    fetched = champion_model_dir(tracker, "reviews")
    assert fetched != good["model_dir"] and (fetched / "training.json").is_file()
    records = run_pipeline(cfg, until="split").output("split").read_kept().slice(0, 5)
    predicted = classifier_predictions(fetched, records)
    assert predicted.num_rows == 5 and set(predicted.column("predicted").to_pylist()) <= {"pos", "neg", "neutral"}
