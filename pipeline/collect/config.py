"""The collection stage's settings: the sources to read and how their columns map to records."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipeline.config_base import Strict


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
    part_rows: int = Field(
        default=10_000, gt=0,
        description="records per output part: the unit later stages process in parallel (a shard per part)")
    shard_mb: float = Field(
        default=64, gt=0,
        description="files of a source are grouped into shards of about this many MB, read in parallel and"
                    " written as one part each (a larger file is a shard of its own; hf, code_tree and email"
                    " sources, and sources with a `limit`, are read as one shard)")
