"""Annotation flows: push records for review, sync annotations on a schedule, retrain when enough changed.

- `annotation_push_flow`: the current data (pipeline steps up to `annotate`, reused from the
  store) -> a Label Studio project per kind -> the selected records with the latest model's
  pre-annotations.
- `annotation_sync_flow` (scheduled, or woken by the webhook receiver): pull what changed; when
  the accepted decisions that are new since the last retrain reach `annotate.retrain_threshold`,
  run `retrain_flow`.
- `retrain_flow`: the pipeline with the annotations applied -> split -> train -> evaluate, and a
  report of each task's metrics against the model trained before (the previous data version).

The server's URL and token come from the environment or a Secret block (deploy/annotation_secrets.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.curation import resolve_config
from pipeline.config import PipelineConfig


def make_client(url: str | None = None, token: str | None = None) -> Any:
    from pipeline.annotate.client import SdkClient

    if not (url and token):
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from deploy.annotation_secrets import label_studio_credentials

        url, token = label_studio_credentials()
    return SdkClient(url, token)


def _config(config_path: str | None, config: dict[str, Any] | None, out_dir: str | None) -> PipelineConfig:
    cfg = resolve_config(config_path, config, out_dir)
    cfg.annotate.enabled = True  # these flows exist to use the annotations
    return cfg


@task(name="annotation-push", cache_policy=NO_CACHE, persist_result=False)
def push_task(cfg: PipelineConfig, client: Any) -> dict[str, Any]:
    from pipeline.annotate.sync import ensure_projects, push_kind, read_side_tables
    from pipeline.catalog import Catalog
    from pipeline.runner import run_pipeline

    ctx = run_pipeline(cfg, until="annotate")
    data = ctx.output("annotate")
    table = data.read_kept()
    stage_dirs = [o.path for o in ctx.outputs.values()]
    pairs = read_side_tables([d for d in stage_dirs if d.name.startswith("dedup_")], "pairs.parquet")
    candidates = read_side_tables([d for d in stage_dirs if d.name.startswith("augment_")], "candidates.parquet")
    models = {m["kind"]: m["model_dir"] for m in Catalog(cfg.run.out_dir).models()}  # the latest per kind
    out = {}
    for kind, project in ensure_projects(client, cfg.annotate, table).items():
        out[kind] = push_kind(client, cfg.annotate, cfg.run.out_dir, project.id, kind, table, models.get(kind),
                              pairs, candidates)
        get_run_logger().info("pushed %s: %s", kind, out[kind]["counts"])
    return out


@flow(name="annotation-push")
def annotation_push_flow(config_path: str | None = None, config: dict[str, Any] | None = None,
                         out_dir: str | None = None, url: str | None = None, token: str | None = None) -> dict:
    cfg = _config(config_path, config, out_dir)
    return push_task(cfg, make_client(url, token))


@task(name="annotation-pull", retries=3, retry_delay_seconds=[10, 30, 90], cache_policy=NO_CACHE,
      persist_result=False)
def pull_task(cfg: PipelineConfig, client: Any) -> dict[str, Any]:
    from pipeline.annotate.sync import pull_all

    out = pull_all(client, cfg.annotate, cfg.run.out_dir)
    for kind, s in out.items():
        get_run_logger().info("pulled %s: %d new, %d updated, %d deleted over %d pages (%d requests)", kind,
                              s["new"], s["updated"], s["deleted"], s["pages"], s["requests"])
    return out


@flow(name="retrain")
def retrain_flow(config_path: str | None = None, config: dict[str, Any] | None = None,
                 out_dir: str | None = None) -> dict[str, Any]:
    """split -> train -> evaluate on the data with the annotations applied; reports the metric change."""
    from pipeline.annotate.report import metric_changes, previous_models
    from pipeline.annotate.sync import mark_retrained
    from pipeline.runner import run_pipeline

    cfg = _config(config_path, config, out_dir)
    before = previous_models(cfg.run.out_dir)
    ctx = run_pipeline(cfg, until="train")
    changes = metric_changes(before, ctx.catalog.models(ctx.run_id), ctx)
    mark_retrained(cfg.run.out_dir, cfg.annotate, ctx.run_id)
    create_markdown_artifact(changes["markdown"], key="retrain-metric-change",
                             description="Metrics before and after the new annotations")
    return changes


@flow(name="annotation-sync")
def annotation_sync_flow(config_path: str | None = None, config: dict[str, Any] | None = None,
                         out_dir: str | None = None, url: str | None = None, token: str | None = None,
                         retrain: bool = True) -> dict[str, Any]:
    from pipeline.annotate.sync import new_accepted_since_retrain

    cfg = _config(config_path, config, out_dir)
    pulled = pull_task(cfg, make_client(url, token))
    new = new_accepted_since_retrain(cfg.run.out_dir, cfg.annotate)
    due = new >= cfg.annotate.retrain_threshold
    get_run_logger().info("%d new accepted decisions since the last retrain (threshold %d)%s", new,
                          cfg.annotate.retrain_threshold, ": retraining" if due and retrain else "")
    result: dict[str, Any] = {"pulled": pulled, "new_accepted": new, "retrained": False}
    if due and retrain:
        result["retrain"] = retrain_flow(config=cfg.model_dump(mode="json"), out_dir=cfg.run.out_dir)
        result["retrained"] = True
    return result
