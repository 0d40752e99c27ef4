"""Annotation flows: push records for review, sync annotations on a schedule, retrain when enough changed.

- `annotation_push_flow`: the current data (pipeline steps up to `annotate`, reused from the
  store) -> a Label Studio project per kind -> the selected records with the latest model's
  pre-annotations.
- `annotation_sync_flow` (scheduled, or started by the `curate.annotations.submitted` event the
  webhook receiver sends): pull what changed, send a `curate.annotation.accepted` event per newly
  accepted decision, and `curate.retrain.due` once `annotate.retrain_threshold` are new since the
  last retrain (flows/events.py).
- `retrain_flow` (its own deployment, started by those events): the pipeline with the annotations
  applied -> split -> train -> evaluate, a report of each task's metrics against the model trained
  before, and the champion gate's decision.

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
def retrain_task(cfg: PipelineConfig, client: Any = None) -> dict[str, Any]:
    from pipeline.workflows.review import retrain

    return retrain(cfg, client)


@flow(name="retrain")
def retrain_flow(config_path: str | None = None, config: dict[str, Any] | None = None,
                 out_dir: str | None = None, force: bool = False, url: str | None = None,
                 token: str | None = None, refresh: bool = True) -> dict[str, Any]:
    """split -> train -> evaluate on the data with the annotations applied; reports the metric change
    and the champion decision, and (with `refresh`) gives the tasks still open in Label Studio the
    champion's predictions. Skipped when no accepted decision is new since the last retrain (a
    second trigger for the same decisions), unless `force`."""
    from pipeline.annotate.sync import new_accepted_since_retrain

    cfg = _config(config_path, config, out_dir)
    new = new_accepted_since_retrain(cfg.run.out_dir, cfg.annotate)
    if new == 0 and not force:
        get_run_logger().info("no accepted decision is new since the last retrain: nothing to retrain on")
        return {"skipped": True, "new_accepted": 0}
    changes = retrain_task(cfg, make_client(url, token) if refresh and _pushed(cfg) else None)
    create_markdown_artifact(changes["markdown"], key="retrain-metric-change",
                             description="Metrics before and after the new annotations, and the champion")
    return {**changes, "skipped": False, "new_accepted": new}


def _pushed(cfg: PipelineConfig) -> bool:
    from pipeline.annotate.store import existing_stores

    return any(st.state().get("project_id") for st in existing_stores(cfg.run.out_dir, cfg.annotate).values())


@task(name="announce-decisions", cache_policy=NO_CACHE, persist_result=False)
def announce_task(cfg: PipelineConfig) -> dict[str, Any]:
    """Send an event per newly accepted decision, and `curate.retrain.due` once the threshold is reached."""
    from flows.events import announce

    out = announce(cfg)
    get_run_logger().info("%d newly accepted decision(s) announced; %d new since the last retrain (threshold %d)%s",
                          out["announced"], out["new_accepted"], cfg.annotate.retrain_threshold,
                          ": retrain due" if out["due"] else "")
    return out


@flow(name="annotation-sync")
def annotation_sync_flow(config_path: str | None = None, config: dict[str, Any] | None = None,
                         out_dir: str | None = None, url: str | None = None, token: str | None = None,
                         retrain: bool = False) -> dict[str, Any]:
    """Pull what changed and announce the newly accepted decisions as events (the retrain
    deployment reacts to them). `retrain=True` also retrains here, in this run, when due: for use
    without deployments."""
    cfg = _config(config_path, config, out_dir)
    pulled = pull_task(cfg, make_client(url, token))
    announced = announce_task(cfg)
    result: dict[str, Any] = {"pulled": pulled, **announced, "retrained": False}
    if announced["due"] and retrain:
        result["retrain"] = retrain_flow(config=cfg.model_dump(mode="json"), out_dir=cfg.run.out_dir, url=url,
                                         token=token)
        result["retrained"] = True
    return result
