"""Reference sets for decontamination: which fields dedup compares, and the set's fingerprint.
Reading the set is shared with the split (pipeline.reference_records)."""

from __future__ import annotations

from pipeline.collect.stage import source_fingerprint
from pipeline.dedup.config import DedupConfig
from pipeline.reference_records import ReferenceRecords, read_reference
from pipeline.reference_source import ReferenceSource


def reference_fields(ref: ReferenceSource, config: DedupConfig) -> tuple[str, ...]:
    return ref.compared_or(config.compared_fields(ref.kind))


def reference_source(ref: ReferenceSource, config: DedupConfig):
    return ref.source_config(reference_fields(ref, config))


def reference_fingerprint(ref: ReferenceSource, config: DedupConfig) -> str:
    return source_fingerprint(reference_source(ref, config))


def load_reference(ref: ReferenceSource, config: DedupConfig) -> ReferenceRecords:
    return read_reference(ref, reference_fields(ref, config))
