"""Human review as workflows: push the current data for review; retrain on the annotations applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.annotate.client import AnnotationClient
from pipeline.annotate.refresh import refresh_predictions
from pipeline.annotate.report import metric_changes, previous_models
from pipeline.annotate.sync import accepted_decisions, ensure_projects, mark_retrained, push_kind, read_side_tables
from pipeline.catalog import Catalog
from pipeline.runner import run_pipeline


def push_for_review(cfg: Any, client: AnnotationClient) -> dict[str, Any]:
    """The current data (pipeline steps up to `annotate`, reused from the store) pushed per kind,
    with each kind's champion (`selection_models`) driving selection and pre-annotations."""
    ctx = run_pipeline(cfg, until="annotate")
    table = ctx.output("annotate").read_kept()
    stage_dirs = [o.path for o in ctx.outputs.values()]
    pairs = read_side_tables([d for d in stage_dirs if d.name.startswith("dedup_")], "pairs.parquet")
    candidates = read_side_tables([d for d in stage_dirs if d.name.startswith("augment_")], "candidates.parquet")
    models = selection_models(cfg)
    # First the tasks still open get this model's predictions, if theirs came from another one.
    refresh_predictions(client, cfg.annotate, cfg.run.out_dir, table, models)
    out = {}
    for kind, project in ensure_projects(client, cfg.annotate, table).items():
        model = models.get(kind)
        out[kind] = push_kind(client, cfg.annotate, cfg.run.out_dir, project.id, kind, table,
                              model if model and Path(model).is_dir() else None, pairs, candidates)
        out[kind]["project"] = {"id": project.id, "title": project.title, "created": project.created,
                                "updated": project.updated}
    return out


def selection_models(cfg: Any) -> dict[str, str]:
    """kind -> the model folder that selects and pre-annotates its records: the champion of the
    kind's first train task in the tracking store; with tracking off (or a run directory from
    before tracking), the latest model of the kind in the catalog."""
    from pipeline.tracking.champion import champion_model_dir
    from pipeline.tracking.store import open_tracker

    latest = {m["kind"]: m["model_dir"] for m in Catalog(cfg.run.out_dir).models() if m["variant"] == "current"}
    tracker = open_tracker(cfg)
    if tracker is None:
        return latest
    out: dict[str, str] = {}
    for task in cfg.train:
        if task.kind not in out:
            champion = champion_model_dir(tracker, task.name)
            if champion is not None:
                out[task.kind] = str(champion)
    return {**latest, **out}  # a kind with no champion yet: its models predate tracking


def retrain(cfg: Any, client: AnnotationClient | None = None) -> dict[str, Any]:
    """split -> train -> evaluate on the data with the annotations applied; the metric change
    against each task's previous model, the champion decisions, and the decisions now counted as
    trained on. With a `client`, the tasks still open get the champion's predictions."""
    before = previous_models(cfg.run.out_dir)
    decisions = accepted_decisions(cfg.run.out_dir, cfg.annotate)  # a decision pulled from now on is not trained on
    ctx = run_pipeline(cfg, until="train")
    changes = metric_changes(before, ctx.catalog.models(ctx.run_id), ctx)
    mark_retrained(cfg.run.out_dir, ctx.run_id, decisions)
    if client is not None:
        changes["predictions"] = refresh_predictions(client, cfg.annotate, cfg.run.out_dir,
                                                     ctx.output("annotate").read_kept(), selection_models(cfg))
        changes["markdown"] += "\n" + refresh_markdown(changes["predictions"])
    return changes


def refresh_markdown(refreshed: dict[str, dict[str, Any]]) -> str:
    lines = ["## Pre-annotations of the open tasks", ""]
    for kind, r in refreshed.items():
        lines.append(f"- {kind}: already from {r['model_version']}" if r["unchanged"] else
                     f"- {kind}: {r['refreshed']} of {r['open_tasks']} open tasks now show {r['model_version']}")
    return "\n".join(lines if refreshed else [])
