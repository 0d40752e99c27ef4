"""A named benchmark or evaluation set, read like a source: shared by dedup and the split.

Both stages remove input records that copy one of its records; each decides by default which
content fields are compared (dedup: the whole example; split: the input side of a pair).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.collect.config import SourceConfig
from pipeline.config_base import Strict
from pipeline.records import CONTENT_FIELDS, REQUIRED_FIELDS


class ReferenceSource(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$", description="named in reject reasons")
    kind: Literal["classification", "instruction", "code"] = Field(
        description="the kind of its records; only input records of this kind are compared with it"
    )
    path: str = Field(min_length=1, description="a JSONL, JSON, CSV or Parquet file (or folder, or glob)")
    format: Literal["jsonl", "json", "csv", "parquet"] = "jsonl"
    fields: dict[str, str] = Field(
        default_factory=dict, description="schema field -> the file's column, as in a source's `fields`"
    )
    fields_compared: list[str] | None = Field(
        default=None, min_length=1, description="content fields compared; default: the stage's fields for the kind"
    )

    @model_validator(mode="after")
    def _known_fields(self) -> "ReferenceSource":
        allowed = CONTENT_FIELDS[self.kind]
        unknown = sorted(set(self.fields_compared or ()) - set(allowed))
        if unknown:
            raise ValueError(f"fields_compared {unknown} are not content fields of {self.kind}: {list(allowed)}")
        self.source_config(tuple(self.fields_compared or ()))  # the source checks of `fields`, format and path
        return self

    def compared_or(self, default: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.fields_compared) if self.fields_compared else default

    def source_config(self, compared: tuple[str, ...]) -> SourceConfig:
        """The set as a collection source, so the collection readers and mapper read it.

        Required fields that are not compared get a placeholder constant: a benchmark file of
        prompts alone must load although the instruction kind requires a response.
        """
        placeholders = {f: "-" for f in REQUIRED_FIELDS[self.kind] if f not in compared}
        return SourceConfig(name=self.name, kind=self.kind, format=self.format, path=self.path,
                            fields=self.fields, constants=placeholders, keep_extra=False)

