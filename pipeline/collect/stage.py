"""The collection stage: every configured source, read, mapped and validated into records.

Collection is the first stage, so its input fingerprint is built from the sources themselves
(paths, sizes and modification times of their files, or the hub id and revision) together
with their configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from pipeline.collect.base import RawReject, RawRow, ReaderOutput, expand_paths
from pipeline.collect.code_tree import read_code_tree
from pipeline.collect.email_reader import read_email
from pipeline.collect.mapping import FieldMapper
from pipeline.collect.table_formats import read_hf_disk, read_hf_hub, read_parquet
from pipeline.collect.text_formats import read_csv, read_json, read_jsonl
from pipeline.config import CollectConfig, SourceConfig
from pipeline.fingerprint import hash_file_stats, hash_json
from pipeline.records import RECORD_SCHEMA, records_to_table
from pipeline.store import BatchResult, StageOutput, StageStore, StageWriter, reject_rows

STAGE = "collect"
VERSION = "1"

_PER_FILE = {
    "jsonl": (read_jsonl, (".jsonl", ".ndjson", ".json")),
    "json": (read_json, (".json",)),
    "csv": (read_csv, (".csv", ".tsv")),
    "parquet": (read_parquet, (".parquet",)),
}


def read_source(source: SourceConfig) -> ReaderOutput:
    """Every raw item of one source, in a stable order."""
    if source.format in _PER_FILE:
        reader, extensions = _PER_FILE[source.format]
        for path in expand_paths(source.path, extensions, source.exclude):
            yield from reader(path, source)
    elif source.format == "hf_disk":
        yield from read_hf_disk(Path(source.path), source)
    elif source.format == "hf_hub":
        yield from read_hf_hub(source)
    elif source.format == "code_tree":
        yield from read_code_tree(Path(source.path), source)
    elif source.format == "email":
        yield from read_email(Path(source.path), source)
    else:  # the config's Literal makes this unreachable
        raise ValueError(f"unknown format {source.format}")


def source_fingerprint(source: SourceConfig) -> str:
    if source.format == "hf_hub":
        files = [Path(f) for f in source.hub_data_files or [] if Path(f).exists()]
        return hash_json({"config": source, "files": hash_file_stats(files) if files else None})
    if source.format == "hf_disk":
        files = [f for f in Path(source.path).rglob("*") if f.is_file()]
    else:
        extensions = _PER_FILE.get(source.format, (None, (".py",) if source.format == "code_tree" else ()))[1]
        files = expand_paths(source.path, extensions, source.exclude)
    return hash_json({"config": source, "files": hash_file_stats(files)})


def _reject(item: RawReject, source: SourceConfig) -> dict:
    return {"stage": STAGE, "reason": item.reason, "detail": item.detail, "source": source.name,
            "origin": item.origin, "id": None, "record": item.preview}


def collect_batches(source: SourceConfig, batch_size: int) -> Iterator[tuple[int, BatchResult]]:
    """(units read, result) per batch of one source."""
    mapper = FieldMapper(source)
    kept, rejected, n, total = [], [], 0, 0
    for item in read_source(source):
        if source.limit is not None and total >= source.limit:
            break
        n += 1
        total += 1
        mapped = mapper.map(item) if isinstance(item, RawRow) else item
        if isinstance(mapped, RawReject):
            rejected.append(_reject(mapped, source))
        else:
            kept.append(mapped)
        if n % batch_size == 0:
            yield n, BatchResult(records_to_table(kept), reject_rows(rejected))
            kept, rejected, n = [], [], 0
    if n:
        yield n, BatchResult(records_to_table(kept), reject_rows(rejected))


def collect(
    sources: list[SourceConfig],
    config: CollectConfig,
    store: StageStore,
    progress: Callable[[int], None] | None = None,
) -> StageOutput:
    """Read every source into one stored dataset of records (or reuse the stored one)."""
    fingerprint = hash_json([source_fingerprint(s) for s in sources])

    def produce(writer: StageWriter) -> None:
        for source in sources:
            for n, result in collect_batches(source, config.batch_size):
                writer.write(result, n)
                if progress:
                    progress(n)

    stage_config = {"sources": [s.model_dump(mode="json") for s in sources], "collect": config.model_dump(mode="json")}
    return store.run(STAGE, VERSION, stage_config, fingerprint, RECORD_SCHEMA, produce)
