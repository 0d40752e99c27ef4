"""The Prefect events the annotation loop sends, and the triggers that react to them.

- `curate.annotations.submitted`: the webhook receiver saw a burst of annotations (one event per
  burst); the annotation-sync deployment's trigger runs a pull.
- `curate.annotation.accepted`: one per decision a sync found newly accepted (a record's merged
  verdict, new or changed); the retrain deployment's trigger starts a retrain when
  `annotate.retrain_threshold` of them arrive within `annotate.retrain_window_s`.
- `curate.retrain.due`: a sync found the threshold reached since the last retrain, however slowly
  the decisions came; the retrain deployment's second trigger.

Every event names its run directory as the resource, so triggers match one pipeline's events.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

SUBMITTED = "curate.annotations.submitted"
ACCEPTED = "curate.annotation.accepted"
RETRAIN_DUE = "curate.retrain.due"


def run_dir_resource(out_dir: str | Path) -> dict[str, str]:
    path = str(Path(out_dir).resolve())
    return {"prefect.resource.id": f"curate.run-dir.{hashlib.sha256(path.encode()).hexdigest()[:16]}",
            "prefect.resource.name": path}


def emit(event: str, out_dir: str | Path, payload: dict[str, Any], related: list[dict[str, str]] | None = None) -> None:
    from prefect.events import emit_event

    emit_event(event=event, resource=run_dir_resource(out_dir), payload=payload, related=related or [])


def emit_accepted(out_dir: str | Path, decisions: dict[str, str]) -> int:
    """One event per newly accepted decision; the count sent."""
    for record_id, value in decisions.items():
        verdict = value.split("|", 1)[0]
        emit(ACCEPTED, out_dir, {"record_id": record_id, "verdict": verdict},
             related=[{"prefect.resource.id": f"curate.record.{record_id}", "prefect.resource.role": "record"}])
    return len(decisions)


def announce(cfg: Any) -> dict[str, Any]:
    """After a pull: an event per newly accepted decision, then `curate.retrain.due` when the
    decisions new since the last retrain reach the threshold. Marked as sent only once sent."""
    from pipeline.annotate.sync import decisions_to_announce, mark_announced, new_accepted_since_retrain

    out_dir, threshold = cfg.run.out_dir, cfg.annotate.retrain_threshold
    decisions = decisions_to_announce(out_dir, cfg.annotate)
    sent = emit_accepted(out_dir, decisions)
    mark_announced(out_dir, cfg.annotate, decisions)
    since = new_accepted_since_retrain(out_dir, cfg.annotate)
    if since >= threshold:
        emit(RETRAIN_DUE, out_dir, {"new_accepted": since, "threshold": threshold})
    return {"announced": sent, "new_accepted": since, "due": since >= threshold}


def retrain_triggers(out_dir: str | Path, threshold: int, window_s: int, config_path: str) -> list[Any]:
    """The retrain deployment's triggers: a burst of accepted decisions, or a sync saying it is due."""
    from prefect.events import DeploymentEventTrigger

    match = {"prefect.resource.id": run_dir_resource(out_dir)["prefect.resource.id"]}
    params = {"config_path": config_path}
    return [
        DeploymentEventTrigger(name="burst of accepted decisions", expect={ACCEPTED}, match=match,
                               threshold=threshold, within=timedelta(seconds=window_s), parameters=params),
        DeploymentEventTrigger(name="retrain due", expect={RETRAIN_DUE}, match=match, threshold=1,
                               parameters=params),
    ]


def sync_triggers(config_path: str) -> list[Any]:
    """The sync deployment's trigger: annotations submitted (the webhook receiver's events)."""
    from prefect.events import DeploymentEventTrigger

    return [DeploymentEventTrigger(name="annotations submitted", expect={SUBMITTED}, threshold=1,
                                   parameters={"config_path": config_path})]
