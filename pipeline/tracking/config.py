"""The `tracking:` section of the pipeline YAML: where models are tracked and how a champion moves."""

from __future__ import annotations

from pydantic import Field

from pipeline.config_base import Strict

# What a champion is judged on, per record kind, when the config names nothing else.
DEFAULT_CHAMPION_METRICS = {"classification": "macro_f1", "instruction": "rouge_l", "code": "code_pass_rate"}


class TrackingError(RuntimeError):
    """A tracking store that cannot be used (a server that does not answer, a refused request),
    or a champion comparison that would not be fair; the message names the fix."""


class TrackingConfig(Strict):
    """Log every trained model to MLflow and keep a `champion` per task in its model registry."""

    enabled: bool = Field(default=True, description="log models to MLflow; off: selection uses the latest model")
    uri: str | None = Field(
        default=None, description="tracking URI; default: $MLFLOW_TRACKING_URI, else a local store in the run "
        "directory (sqlite:///<out_dir>/mlflow.db, artifacts in <out_dir>/mlartifacts)")
    experiment: str | None = Field(default=None, description="MLflow experiment; default: run.name")
    model_prefix: str | None = Field(
        default=None, description="registered models are named <prefix>-<task>; default: run.name")
    champion_metrics: dict[str, str] = Field(
        default_factory=dict, description="task name -> the test metric a champion is judged on; default "
        "macro_f1 (classification), the generation metric (instruction), code_pass_rate (code)")
    min_improvement: float = Field(
        default=0.0, ge=0, description="a challenger must beat the champion by more than this to replace it")
    upload_weights: bool | None = Field(
        default=None, description="copy model weights into the artifact store; default: only when the "
        "tracking URI is a server (a local store points at the model folder instead of copying it)")
    timeout_s: float = Field(default=10.0, gt=0, le=600, description="how long a tracking server may take to answer")
