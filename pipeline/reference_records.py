"""Reading a reference set (a named benchmark): shared by dedup's decontamination and the split.

Apart from its config (reference_source.py), which configs import: reading needs the
collection readers, and they must not be imported by configs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.collect import read_source
from pipeline.collect.base import RawReject, RawRow
from pipeline.collect.mapping import FieldMapper
from pipeline.reference_source import ReferenceSource
from pipeline.similarity.content import compared_text, content_key


@dataclass
class ReferenceRecords:
    """The readable records of a reference set: their compared text and its content hash."""

    ref: ReferenceSource
    ids: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    keys: list[bytes] = field(default_factory=list)
    unreadable: int = 0


def read_reference(ref: ReferenceSource, compared: tuple[str, ...]) -> ReferenceRecords:
    """The set read with the collection readers and mapper, as a source is, and its `compared`
    fields normalised exactly as input records are, so every stage compares like with like."""
    source = ref.source_config(compared)
    mapper = FieldMapper(source)
    out = ReferenceRecords(ref)
    for item in read_source(source):
        mapped = mapper.map(item) if isinstance(item, RawRow) else item
        text = None if isinstance(mapped, RawReject) else compared_text(mapped, compared)
        if text is None:
            out.unreadable += 1  # counted in the manifest: a benchmark row we cannot read protects nothing
            continue
        out.ids.append(mapped["id"])
        out.origins.append(mapped["origin"])
        out.texts.append(text)
        out.keys.append(content_key(ref.kind, text))
    if not out.texts:
        raise ValueError(f"reference set {ref.name!r} ({ref.path}) has no readable records")
    return out
