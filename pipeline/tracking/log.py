"""One trained model as one MLflow run: its settings, its per-epoch and test metrics, the data
it was trained on (an input whose digest is the data version), and its outputs.

A model the pipeline reuses (same data, same config) keeps its MLflow run: the run is found by
the model folder's key and not logged twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from pipeline.tracking.store import Tracker

MODEL_KEY_TAG = "curate.model_key"
_RESULT_FILES = ("training.json", "test_items.parquet", "README.md")


def model_key(model_dir: str | Path) -> str:
    return hashlib.sha256(str(Path(model_dir).resolve()).encode()).hexdigest()[:24]


def numeric(values: dict[str, Any] | None) -> dict[str, float]:
    return {k: float(v) for k, v in (values or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v}


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested settings as MLflow params (strings of at most 6,000 characters)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_params(value, f"{name}."))
        else:
            out[name] = (value if isinstance(value, str) else json.dumps(value))[:6000]
    return out


def find_run(tracker: Tracker, model_dir: str | Path) -> str | None:
    key = model_key(model_dir)
    runs = tracker.call("search runs", tracker.client.search_runs, [tracker.experiment_id],
                        filter_string=f"tags.`{MODEL_KEY_TAG}` = '{key}'", max_results=1)
    return runs[0].info.run_id if runs else None


def _inputs(row: dict[str, Any]) -> list[Any]:
    """The train, validation and test record sets as MLflow dataset inputs; each digest names the
    exact ids (the train input's digest is the whole data version)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    digests = {"training": (row["data_version"], row["n_train"]),
               "validation": (row["validation_fingerprint"], row["n_validation"]),
               "testing": (row["test_fingerprint"], row["n_test"])}
    out = []
    for context, (digest, n) in digests.items():
        ds = Dataset(name=f"{row['task']}-{context}", digest=digest[:36], source_type="local",
                     source=json.dumps({"uri": row["split_path"]}),
                     profile=json.dumps({"num_rows": n, "data_version": row["data_version"]}))
        out.append(DatasetInput(ds, tags=[InputTag("mlflow.data.context", context)]))
    return out


def log_model_run(tracker: Tracker, row: dict[str, Any]) -> str:
    """The MLflow run id of this trained model, logging it first if it is not there yet."""
    from mlflow.entities import Metric, Param

    record = Path(row["model_dir"]) / "training.json"
    result = json.loads(record.read_text()) if record.is_file() else {}
    existing = find_run(tracker, row["model_dir"])
    if existing:
        return existing
    c = tracker.client
    tags = {MODEL_KEY_TAG: model_key(row["model_dir"]), "curate.task": row["task"], "curate.kind": row["kind"],
            "curate.variant": row["variant"], "curate.role": row.get("role", "variant"),
            "curate.data_version": row["data_version"], "curate.test_fingerprint": row["test_fingerprint"],
            "curate.model_dir": str(Path(row["model_dir"]).resolve()), "curate.pipeline_run": row["run_id"],
            "curate.code_version": row["code_version"]}
    run = tracker.call("create a run", c.create_run, tracker.experiment_id,
                       run_name=f"{row['task']}:{row['variant']}:seed{row.get('seed', 0)}", tags=tags)
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    params = {**flat_params(row["config_json"]), "task": row["task"], "kind": row["kind"],
              "variant": row["variant"], "n_train": str(row["n_train"]), "n_test": str(row["n_test"])}
    metrics = [Metric(k, v, now, 0) for k, v in numeric(row["metrics"]).items()]
    for epoch in result.get("history") or []:  # per-epoch curves, step = epoch
        step = int(epoch.get("epoch", 0))
        metrics += [Metric(f"epoch_{k}", v, now, step) for k, v in numeric(epoch).items() if k != "epoch"]
    metrics += [Metric("train_seconds", float(row.get("train_seconds") or 0.0), now, 0)]
    for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
        chunk = list(params.items())[start:start + 100]
        tracker.call("log params", c.log_batch, run_id, params=[Param(k, v) for k, v in chunk])
    for start in range(0, len(metrics), 1000):
        tracker.call("log metrics", c.log_batch, run_id, metrics=metrics[start:start + 1000])
    tracker.call("log the data inputs", c.log_inputs, run_id, datasets=_inputs(row))
    model_dir = Path(row["model_dir"])
    for name in _RESULT_FILES:
        if (model_dir / name).is_file():
            tracker.call(f"store {name}", c.log_artifact, run_id, str(model_dir / name), "outputs")
    if tracker.uploads_weights:
        tracker.call("store the model weights", c.log_artifacts, run_id, str(model_dir), "model")
    tracker.call("close the run", c.set_terminated, run_id, "FINISHED")
    return run_id


def log_report(tracker: Tracker, run_ids: list[str], report: Path) -> None:
    """The pipeline run's report, attached to every model run it made."""
    for run_id in run_ids:
        if report.is_file():
            tracker.call("store the report", tracker.client.log_artifact, run_id, str(report), "report")
