"""After a retrain: the tasks annotators have not finished get the champion's predictions.

Pre-annotations are a model's guesses shown to annotators; once the champion changes, the tasks
still open should show the new champion's, not the push-time model's. Each open task gets one
more prediction under the champion's model version, and the project's `model_version` selects
it. A project whose predictions already come from the champion is left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.annotate.client import AnnotationClient
from pipeline.annotate.config import AnnotateConfig
from pipeline.annotate.store import existing_stores

PREDICTIONS_VERSION = "predictions_model_version"  # the store state's key: whose predictions the project shows


def refresh_predictions(client: AnnotationClient, config: AnnotateConfig, out_dir: str | Path, table: pa.Table,
                        models: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per kind: the open tasks given the model's predictions (`models`: kind -> model folder;
    `table`: the current records, holding every open task's record)."""
    from pipeline.annotate.predict import model_version, predictions
    from pipeline.annotate.push import pre_annotation

    out: dict[str, dict[str, Any]] = {}
    for kind, store in existing_stores(out_dir, config).items():
        state, model_dir = store.state(), models.get(kind)
        project_id = state.get("project_id")
        if not project_id or not model_dir:
            continue
        version = model_version(model_dir)
        if state.get(PREDICTIONS_VERSION) == version:
            out[kind] = {"model_version": version, "open_tasks": None, "refreshed": 0, "unchanged": True}
            continue
        open_tasks = client.open_tasks(project_id)
        records = table.filter(pc.is_in(table.column("id"), value_set=pa.array(list(open_tasks), pa.string())))
        scored = predictions(model_dir, records, max_length=config.score_max_length) if records.num_rows else None
        xml, rows, refused = client.label_config(project_id), [], 0
        for pred in scored.to_pylist() if scored is not None else []:
            try:
                p = pre_annotation(kind, pred, version, xml)
            except ValueError:  # the project's config does not offer the model's label
                refused += 1
                continue
            if p is not None:
                rows.append({**p, "task": open_tasks[pred["id"]]})
        created = client.import_predictions(project_id, rows) if rows else 0
        client.set_model_version(project_id, version)
        store.save_state({**store.state(), PREDICTIONS_VERSION: version})
        out[kind] = {"model_version": version, "open_tasks": len(open_tasks), "refreshed": created,
                     "not_in_data": len(open_tasks) - records.num_rows, "predictions_refused": refused,
                     "unchanged": False}
    return out
