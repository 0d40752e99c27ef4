"""Reference sets for decontamination: the compared texts of a named benchmark's records.

Read with the collection readers and mapper, as sources are, and normalised exactly as the
input records are, so every level compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.collect.base import RawReject, RawRow
from pipeline.collect.stage import source_fingerprint
from pipeline.dedup.config import DedupConfig
from pipeline.reference_source import ReferenceSource
from pipeline.similarity.content import compared_text, content_key


@dataclass
class ReferenceRecords:
    ref: ReferenceSource
    ids: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    keys: list[bytes] = field(default_factory=list)
    unreadable: int = 0


def reference_fields(ref: ReferenceSource, config: DedupConfig) -> tuple[str, ...]:
    return ref.compared_or(config.compared_fields(ref.kind))


def reference_source(ref: ReferenceSource, config: DedupConfig):
    return ref.source_config(reference_fields(ref, config))


def reference_fingerprint(ref: ReferenceSource, config: DedupConfig) -> str:
    return source_fingerprint(reference_source(ref, config))


def load_reference(ref: ReferenceSource, config: DedupConfig) -> ReferenceRecords:
    from pipeline.collect import read_source
    from pipeline.collect.mapping import FieldMapper

    source = reference_source(ref, config)
    fields = reference_fields(ref, config)
    mapper = FieldMapper(source)
    out = ReferenceRecords(ref)
    for item in read_source(source):
        mapped = mapper.map(item) if isinstance(item, RawRow) else item
        text = None if isinstance(mapped, RawReject) else compared_text(mapped, fields)
        if text is None:
            out.unreadable += 1  # counted: a benchmark row we cannot read protects nothing
            continue
        out.ids.append(mapped["id"])
        out.origins.append(mapped["origin"])
        out.texts.append(text)
        out.keys.append(content_key(ref.kind, text))
    if not out.texts:
        raise ValueError(f"reference set {ref.name!r} ({ref.path}) has no readable records")
    return out
