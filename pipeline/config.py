"""The pipeline configuration: one YAML file per run, validated before any work starts.

Every model forbids unknown keys, so a typo fails with the key's path instead of being
ignored. `schemas/config.schema.json` is generated from these models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from pipeline.annotate.config import AnnotateConfig
from pipeline.augment.config import AugmentConfig
from pipeline.clean.config import CleanConfig
from pipeline.collect.config import CollectConfig, SourceConfig
from pipeline.config_base import Strict, Threshold, require_unique
from pipeline.dedup.config import DedupConfig
from pipeline.executors.config import DaskConfig, ExecutorName
from pipeline.experiments.config import AblationConfig, TrainTask
from pipeline.score.config import ScoreConfig
from pipeline.split.config import SplitConfig
from pipeline.tracking.config import TrackingConfig


class RunConfig(Strict):
    name: str = Field(default="run", pattern=r"^[A-Za-z0-9_.\-]+$")
    out_dir: str = Field(default="runs", description="the run directory: stage outputs, catalog, report")
    workers: int = Field(default=2, ge=1, le=64, description="local executor: worker processes for shard tasks")
    batch_size: int = Field(default=2000, gt=0, description="records per Arrow batch, in every stage")
    executor: ExecutorName = Field(default="local", description="where shard tasks run: local (this machine)"
                                   " or dask (a scheduler at run.dask.address, or a LocalCluster it starts)")
    dask: DaskConfig = Field(default_factory=DaskConfig)
    cache_dir: str | None = Field(
        default=None, description="caches shared by runs (sentence embeddings); default: <out_dir>/cache"
    )


class PipelineConfig(Strict):
    """A whole pipeline run."""

    run: RunConfig = Field(default_factory=RunConfig)
    sources: list[SourceConfig] = Field(min_length=1)
    collect: CollectConfig = Field(default_factory=CollectConfig)
    clean: CleanConfig = Field(default_factory=CleanConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    score: ScoreConfig = Field(default_factory=ScoreConfig, description="model and word-list scores, each then a decision")
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    annotate: AnnotateConfig = Field(default_factory=AnnotateConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    train: list[TrainTask] = Field(default_factory=list, description="models to train on the split data")
    ablation: AblationConfig | None = Field(default=None, description="train every task on each data variant")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig, description="MLflow runs and champions")

    @model_validator(mode="after")
    def _train_names(self) -> "PipelineConfig":
        require_unique([t.name for t in self.train], "train task")
        return self

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v: list[SourceConfig]) -> list[SourceConfig]:
        require_unique([s.name for s in v], "source")
        return v


class ConfigError(ValueError):
    """A configuration problem, with every offending key named."""


def format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  {loc}: {msg}")
    return "invalid configuration:\n" + "\n".join(lines)


def parse_config(data: Any) -> PipelineConfig:
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a YAML config; relative paths in it resolve against the file's folder."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    config = parse_config(data)
    return resolve_paths(config, path.parent)


def resolve_paths(config: PipelineConfig, base: Path) -> PipelineConfig:
    def absolute(p: str) -> str:
        q = Path(p).expanduser()
        return str(q if q.is_absolute() else (base / q).resolve())

    config.run.out_dir = absolute(config.run.out_dir)
    if config.run.cache_dir:
        config.run.cache_dir = absolute(config.run.cache_dir)
    for dref in config.dedup.reference_sets:
        dref.path = absolute(dref.path)
    config.dedup.against = [absolute(p) for p in config.dedup.against]
    label_gate = config.augment.gates.label
    if label_gate.model and (label_gate.model.startswith((".", "~")) or "/" in label_gate.model):
        label_gate.model = absolute(label_gate.model)
    for scorer in config.score.scorers:  # a model folder named relative to the config file
        model = getattr(scorer, "model", None)
        if model and not Path(model).is_absolute() and (base / model).expanduser().exists():
            scorer.model = absolute(model)
    for s in config.sources:
        if s.path:
            s.path = absolute(s.path)
    for ref in config.split.reference_sets:
        ref.path = absolute(ref.path)
    return config


