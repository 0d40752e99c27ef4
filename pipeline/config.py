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
from pipeline.config_base import Strict, Threshold, require_unique
from pipeline.dedup.config import DedupConfig
from pipeline.experiments.config import AblationConfig, TrainTask
from pipeline.split.config import SplitConfig


SourceFormat = Literal["jsonl", "json", "csv", "parquet", "hf_disk", "hf_hub", "code_tree", "email"]


class SourceConfig(Strict):
    """One input: where it is, what format, and how its columns map to the record schema."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$", description="the records' `source`")
    kind: Literal["classification", "instruction", "code"]
    format: SourceFormat
    path: str | None = Field(default=None, description="file, directory or glob (not for hf_hub)")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="schema field -> the user's column (dotted paths reach into nested objects);"
        " a schema field left out is read from the column of the same name; `group` names a column"
        " whose equal values put records in one group (e.g. the turns of one conversation)",
    )
    constants: dict[str, str] = Field(default_factory=dict, description="schema field -> fixed value")
    keep_extra: bool = Field(default=True, description="keep unmapped columns in the record's `meta`")
    max_record_bytes: int = Field(default=1_000_000, gt=0, description="larger records are rejected")
    limit: int | None = Field(default=None, gt=0, description="read at most this many records")
    # format-specific options
    csv_delimiter: str = Field(default=",", min_length=1, max_length=1)
    hub_id: str | None = Field(default=None, description="hf_hub: dataset id or builder name, e.g. 'json'")
    hub_config: str | None = None
    hub_split: str = "train"
    hub_revision: str | None = None
    hub_data_files: list[str] | None = None
    hub_streaming: bool = True
    label_from_dir: bool = Field(default=False, description="email: the label is the file's parent folder")
    exclude: list[str] = Field(default_factory=list, description="code_tree/email: glob patterns to skip")
    include_methods: bool = Field(default=True, description="code_tree: mine methods of classes too")
    include_private: bool = Field(default=False, description="code_tree: mine _private functions too")
    strip_docstring: bool = Field(default=True, description="code_tree: remove the docstring from `code`")
    min_code_lines: int = Field(default=3, ge=1, description="code_tree: skip shorter functions")

    @field_validator("fields", "constants")
    @classmethod
    def _known_fields(cls, v: dict[str, str]) -> dict[str, str]:
        allowed = {"text", "label", "prompt", "response", "system", "messages", "code", "language", "group"}
        unknown = sorted(set(v) - allowed)
        if unknown:
            raise ValueError(f"unknown schema field(s) {unknown}; allowed: {sorted(allowed)}")
        return v

    @model_validator(mode="after")
    def _format_needs(self) -> "SourceConfig":
        if self.format == "hf_hub":
            if not self.hub_id:
                raise ValueError("format hf_hub needs hub_id")
        elif not self.path:
            raise ValueError(f"format {self.format} needs path")
        if self.format == "code_tree" and self.kind != "code":
            raise ValueError("format code_tree produces kind 'code'")
        if self.format == "email" and self.kind != "classification":
            raise ValueError("format email produces kind 'classification'")
        return self


class CollectConfig(Strict):
    batch_size: int = Field(default=2000, gt=0, description="records per Arrow batch written")


class NormalizeConfig(Strict):
    enabled: bool = True
    unicode_form: Literal["NFC", "NFKC", "none"] = Field(
        default="NFKC", description="code fields always get NFC: NFKC may change string literals"
    )
    strip_control: bool = Field(default=True, description="drop control characters except tab and newline")
    collapse_whitespace: bool = Field(default=True, description="collapse spaces, keep up to 2 newlines (not code)")
    strip_html: bool = Field(default=False, description="replace HTML with its text (not code)")


def _t(min: float | None = None, max: float | None = None, enabled: bool = True) -> Any:
    return Field(default_factory=lambda: Threshold(min=min, max=max, enabled=enabled))


class QualityConfig(Strict):
    chars: Threshold = _t(min=2, max=100_000)
    words: Threshold = _t(min=1, max=20_000)
    dup_line_frac: Threshold = _t(max=0.5)
    top_2gram_frac: Threshold = _t(max=0.4)
    dup_5gram_frac: Threshold = _t(max=0.6)
    symbol_ratio: Threshold = _t(max=0.5)
    alpha_word_frac: Threshold = _t(min=0.5)
    response_copy: Threshold = _t(max=0.95)
    min_words_for_repetition: int = Field(default=20, ge=1, description="repetition scores need this many words")


class LanguageConfig(Strict):
    enabled: bool = True
    allowed: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    min_confidence: float = Field(
        default=0.5, ge=0, le=1,
        description="reject only when this sure of a language not in `allowed`; unsure guesses pass",
    )
    min_chars: int = Field(default=40, ge=1, description="shorter texts get language 'und' and pass")


class PiiConfig(Strict):
    enabled: bool = True
    kinds: list[Literal["email", "phone", "ip_address", "credit_card", "secret"]] = Field(
        default_factory=lambda: ["email", "phone", "ip_address", "credit_card", "secret"]
    )
    code_kinds: list[Literal["email", "phone", "ip_address", "credit_card", "secret"]] = Field(
        default_factory=lambda: ["email", "secret"],
        description="in code, digits and dotted quads are usually literals, not PII",
    )


class CodeSyntaxConfig(Strict):
    enabled: bool = True


class CleanConfig(Strict):
    normalize: NormalizeConfig = Field(default_factory=NormalizeConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    language: LanguageConfig = Field(default_factory=LanguageConfig)
    pii: PiiConfig = Field(default_factory=PiiConfig)
    code_syntax: CodeSyntaxConfig = Field(default_factory=CodeSyntaxConfig)


class RunConfig(Strict):
    name: str = Field(default="run", pattern=r"^[A-Za-z0-9_.\-]+$")
    out_dir: str = Field(default="runs", description="the run directory: stage outputs, catalog, report")
    workers: int = Field(default=2, ge=1, le=64, description="processes for batch stages")
    batch_size: int = Field(default=2000, gt=0, description="records per batch in batch stages")
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
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    annotate: AnnotateConfig = Field(default_factory=AnnotateConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    train: list[TrainTask] = Field(default_factory=list, description="models to train on the split data")
    ablation: AblationConfig | None = Field(default=None, description="train every task on each data variant")

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
    for s in config.sources:
        if s.path:
            s.path = absolute(s.path)
    for ref in config.split.reference_sets:
        ref.path = absolute(ref.path)
    return config


