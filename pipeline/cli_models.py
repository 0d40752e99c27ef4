"""`curate models`: each task's registered model versions and champion, and moving the champion by hand
(a rollback, or a model the gate kept out that a person judged better)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from pipeline.cli_common import console, out

models_app = typer.Typer(no_args_is_help=True, help="Registered models and champions (MLflow).")

CONFIG = typer.Option(None, "--config", "-c", help="pipeline YAML (its tracking and train sections); default the demo")
OUT = typer.Option(None, "--out", help="override run.out_dir")


def _fail(message: str) -> None:
    console.print(Text(f"error: {message}", style="red"), soft_wrap=True)
    raise typer.Exit(2)


def _tracker(config: Optional[Path], out_dir: Optional[Path]) -> tuple[Any, Any]:
    from pipeline.config import ConfigError
    from pipeline.run_config import resolve_run_config
    from pipeline.tracking import TrackingError
    from pipeline.tracking.store import Tracker

    try:
        cfg = resolve_run_config(config, None, out_dir, prepare_demo=False)
        if not cfg.tracking.enabled:
            _fail("tracking is off in this config (tracking.enabled: false): there is no registry to read")
        return cfg, Tracker(cfg.tracking, cfg.run.out_dir, cfg.run.name)
    except (ConfigError, TrackingError) as exc:
        _fail(str(exc))
    raise AssertionError("unreachable")


def _versions(tracker: Any, task: str) -> list[Any]:
    name = tracker.registered_name(task)
    found = tracker.call("list model versions", tracker.client.search_model_versions, f"name = '{name}'")
    return sorted(found, key=lambda v: int(v.version))


@models_app.command("list")
def list_models(config: Optional[Path] = CONFIG, out_dir: Optional[Path] = OUT) -> None:
    """Every train task's model versions: data version, score on which test set, and the champion."""
    from pipeline.tracking.champion import CHAMPION

    cfg, tracker = _tracker(config, out_dir)
    t = Table("task", "version", "data version", "metric", "score", "test set", "champion", "created",
              title=f"Registered models ({tracker.uri})")
    for task in cfg.train:
        for v in _versions(tracker, task.name):
            tags = v.tags
            t.add_row(task.name, str(v.version), tags.get("curate.data_version", "")[:12],
                      tags.get("curate.metric", "-"), f"{float(tags['curate.score']):.4f}" if "curate.score" in tags
                      else "-", tags.get("curate.test_fingerprint", "")[:12],
                      "champion" if CHAMPION in (v.aliases or []) else "", _when(v.creation_timestamp))
    out.print(t)


@models_app.command("promote")
def promote(task: str = typer.Argument(..., help="the train task"),
            version: int = typer.Argument(..., help="the registered version to make the champion"),
            config: Optional[Path] = CONFIG, out_dir: Optional[Path] = OUT) -> None:
    """Make VERSION the task's champion by hand; selection and pre-annotation use it from now on."""
    from pipeline.tracking.champion import CHAMPION, current_champion

    cfg, tracker = _tracker(config, out_dir)
    if task not in {t.name for t in cfg.train}:
        _fail(f"no train task {task!r} in the config; tasks: {', '.join(t.name for t in cfg.train) or 'none'}")
    versions = {int(v.version): v for v in _versions(tracker, task)}
    if version not in versions:
        _fail(f"{tracker.registered_name(task)} has no version {version}; versions: "
              f"{', '.join(map(str, sorted(versions))) or 'none (train the task first)'}")
    before = current_champion(tracker, tracker.registered_name(task))
    name = tracker.registered_name(task)
    tracker.call("move the champion", tracker.client.set_registered_model_alias, name, CHAMPION, str(version))
    tracker.call("tag the version", tracker.client.set_model_version_tag, name, str(version),
                 "curate.promoted", "by hand")
    was = f" (was v{before.version})" if before is not None else ""
    out.print(f"{name}: champion is now v{version}{was}")


def _when(ms: int | None) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M") if ms else "-"
