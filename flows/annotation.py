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

from pipeline.run_config import resolve_run_config
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
    cfg = resolve_run_config(config_path, config, out_dir)
    cfg.annotate.enabled = True  # these flows exist to use the annotations
    return cfg


@task(name="annotation-push", cache_policy=NO_CACHE, persist_result=False)
def push_task(cfg: PipelineConfig, client: Any) -> dict[str, Any]:
    from pipeline.workflows.review import push_for_review

    out = push_for_review(cfg, client)
    for kind, manifest in out.items():
        get_run_logger().info("pushed %s: %s", kind, manifest["counts"])
    return out


@flow(name="annotation-push")
def annotation_push_flow(config_path: str | None = None, config: dict[str, Any] | None = None,
                         out_dir: str | None = None, url: str | None = None, token: str | None = None) -> dict:
    cfg = _config(config_path, config, out_dir)
    return push_task(cfg, make_client(url, token))


def retry_unless_refused(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry a pull the server could not finish (down, overloaded); never a refused token."""
    from pipeline.annotate.client import AnnotationServerError, AuthError

    exc = state.result(raise_on_failure=False)
    return isinstance(exc, AnnotationServerError) and not isinstance(exc, AuthError)


# A pull is safe to repeat: it stores each annotation version once and moves its cursor last.
@task(name="annotation-pull", retries=3, retry_delay_seconds=[10, 30, 90], retry_condition_fn=retry_unless_refused,
      cache_policy=NO_CACHE, persist_result=False)
def pull_task(cfg: PipelineConfig, client: Any) -> dict[str, Any]:
    from pipeline.annotate.sync import pull_all

    from pipeline.annotate.sync import requeue_unclear

    out = pull_all(client, cfg.annotate, cfg.run.out_dir)
    for kind, s in out.items():
        get_run_logger().info("pulled %s: %d new, %d updated, %d deleted over %d pages (%d requests)", kind,
                              s["new"], s["updated"], s["deleted"], s["pages"], s["requests"])
    for kind, c in requeue_unclear(client, cfg.annotate, cfg.run.out_dir).items():
        s = out.setdefault(kind, {})
        s["requeue"] = c
        get_run_logger().info("%s: %d unclear, %d sent to another annotator", kind, c["unclear"], c["requeued"])
    return out


@task(name="retrain", cache_policy=NO_CACHE, persist_result=False)
def retrain_task(cfg: PipelineConfig) -> dict[str, Any]:
    from pipeline.workflows.review import retrain

    return retrain(cfg)


@flow(name="retrain")
def retrain_flow(config_path: str | None = None, config: dict[str, Any] | None = None,
                 out_dir: str | None = None) -> dict[str, Any]:
    """split -> train -> evaluate on the data with the annotations applied; reports the metric change."""
    changes = retrain_task(_config(config_path, config, out_dir))
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
