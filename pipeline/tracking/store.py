"""One MLflow tracking store and experiment, reached through an explicit client.

No process-wide MLflow state is touched (no `mlflow.set_tracking_uri`): two run directories in
one process, or a test beside a pipeline, each keep their own store. Every MLflow failure
becomes a `TrackingError` naming the store and the fix.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from pipeline.tracking.config import TrackingConfig, TrackingError

LOCAL_DB = "mlflow.db"
LOCAL_ARTIFACTS = "mlartifacts"


def tracking_uri(config: TrackingConfig, run_dir: str | Path) -> str:
    """The configured URI, else $MLFLOW_TRACKING_URI, else the run directory's local store."""
    uri = config.uri or os.environ.get("MLFLOW_TRACKING_URI")
    return uri or f"sqlite:///{(Path(run_dir) / LOCAL_DB).resolve()}"


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def check_reachable(uri: str, timeout_s: float) -> None:
    """A tracking server must answer its health check before any work starts (nothing is half-logged)."""
    if not is_server(uri):
        return
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s) as response:
            if response.status == 200:
                return
            problem = f"HTTP {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        problem = str(getattr(exc, "reason", exc))
    raise TrackingError(f"the MLflow tracking server at {uri} does not answer ({problem}): start it, or unset "
                        "MLFLOW_TRACKING_URI (and tracking.uri) to track in the run directory's local store")


@contextmanager
def mlflow_errors(uri: str, doing: str) -> Iterator[None]:
    """MLflow's and the network's exceptions as one TrackingError line."""
    try:
        yield
    except TrackingError:
        raise
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        if isinstance(exc, (MlflowException, OSError)) or type(exc).__module__.startswith(("requests", "urllib3")):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TrackingError(f"MLflow at {uri} refused to {doing}: {first}") from exc
        raise


class Tracker:
    """The tracking store of a run directory (or the server the config names) and its experiment."""

    def __init__(self, config: TrackingConfig, run_dir: str | Path, default_name: str):
        import logging

        logging.getLogger("mlflow").setLevel(logging.WARNING)  # table-creation notes are not news to a user
        self.config = config
        self.run_dir = Path(run_dir)
        self.uri = tracking_uri(config, run_dir)
        self.prefix = config.model_prefix or default_name
        check_reachable(self.uri, config.timeout_s)
        from mlflow import MlflowClient

        with mlflow_errors(self.uri, "open the tracking store"):
            self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
            self.experiment_id = self._experiment(config.experiment or default_name)

    @property
    def uploads_weights(self) -> bool:
        return is_server(self.uri) if self.config.upload_weights is None else self.config.upload_weights

    def _experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        # A local store keeps its artifacts beside it; a server chooses its own artifact root.
        location = None if is_server(self.uri) else (self.run_dir / LOCAL_ARTIFACTS).resolve().as_uri()
        return self.client.create_experiment(name, artifact_location=location)

    def registered_name(self, task: str) -> str:
        return f"{self.prefix}-{task}"

    def call(self, doing: str, fn: Any, *args: Any, **kw: Any) -> Any:
        with mlflow_errors(self.uri, doing):
            return fn(*args, **kw)


def open_tracker(config: Any) -> Tracker | None:
    """The pipeline config's tracker, or None when tracking is off or nothing is trained."""
    if not config.tracking.enabled or not (config.train or config.ablation):
        return None
    return Tracker(config.tracking, config.run.out_dir, config.run.name)


def check_tracking(config: Any) -> None:
    """Fail before a run starts when the tracking server it will need does not answer."""
    if config.tracking.enabled and (config.train or config.ablation):
        check_reachable(tracking_uri(config.tracking, config.run.out_dir), config.tracking.timeout_s)
