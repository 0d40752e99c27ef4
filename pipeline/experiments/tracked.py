"""Trained models into the tracking store: an MLflow run each, and for the pipeline's current
models a registered version judged against the task's champion.

This is the wiring between training (which can score a saved model again) and tracking (which
knows nothing of training); the runner and the ablation call it.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipeline.tracking.store import Tracker


def track_model(tracker: Tracker, row: dict[str, Any], *, register: bool = False,
                tables: dict[str, pa.Table] | None = None) -> dict[str, Any]:
    """The columns to add to the model's catalog row: its MLflow run id and, when registered,
    its model version and the champion decision (`tables`: the splits it was scored on, capped)."""
    from pipeline.tracking.champion import Score, champion_metric, judge, register_version
    from pipeline.tracking.log import log_model_run

    run_id = log_model_run(tracker, row)
    out: dict[str, Any] = {"mlflow_run_id": run_id}
    if not register:
        return out
    metric = champion_metric(tracker, row)
    version = register_version(tracker, row, run_id, Score(metric, float(row["metrics"][metric]),
                                                          row["test_fingerprint"]))
    assert tables is not None, "a registered model needs the splits it was scored on"
    decision = judge(tracker, version, lambda champion: _rescore_version(tracker, champion, tables))
    return {**out, "registered_model": version.name, "model_version": int(version.version), "champion": decision}


def _rescore_version(tracker: Tracker, version: Any, tables: dict[str, pa.Table]) -> dict[str, Any]:
    """A registered model's test metrics on these splits, under its own training settings."""
    from pipeline.tracking.champion import version_model_dir
    from pipeline.train import TrainConfig
    from pipeline.train.rescore import rescore
    from pipeline.train.result import TrainResult

    model_dir = version_model_dir(tracker, version)
    settings = TrainResult.read(model_dir).config
    config = TrainConfig.model_validate({**settings, "max_train_records": None, "max_eval_records": None})
    return rescore(model_dir, tables["validation"], tables["test"], config)
