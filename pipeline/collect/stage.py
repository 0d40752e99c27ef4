"""The collection stage: every configured source, read, mapped and validated into records.

Collection is the first stage, so its input fingerprint is built from the sources themselves
(paths, sizes and modification times of their files, or the hub id and revision) together
with their configuration. Its plan groups each source's files into shards of about
`collect.shard_mb`; each shard is read by one task and written as one part, so the parts'
order is the sources' order, then their files' order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from pipeline.collect.base import RawReject, RawRow, ReaderOutput, expand_paths
from pipeline.collect.code_tree import read_code_tree
from pipeline.collect.config import CollectConfig, SourceConfig
from pipeline.collect.email_reader import read_email
from pipeline.collect.mapping import FieldMapper
from pipeline.collect.table_formats import read_hf_disk, read_hf_hub, read_parquet
from pipeline.collect.text_formats import read_csv, read_json, read_jsonl
from pipeline.config_base import Strict
from pipeline.fingerprint import hash_file_stats, hash_json
from pipeline.parts import BatchResult, Shard, part_name
from pipeline.records import RECORD_SCHEMA, records_to_table
from pipeline.rows import reject_rows
from pipeline.stage import Passes, ShardInput, ShardResults, Stage

STAGE = "collect"

_PER_FILE = {
    "jsonl": (read_jsonl, (".jsonl", ".ndjson", ".json")),
    "json": (read_json, (".json",)),
    "csv": (read_csv, (".csv", ".tsv")),
    "parquet": (read_parquet, (".parquet",)),
}


# The file-based formats besides the per-file readers, and the files they read.
_FOLDER_EXTENSIONS = {"code_tree": (".py",), "email": ()}


def file_extensions(fmt: str) -> tuple[str, ...] | None:
    """The extensions a file-based format reads (() for any file); None for a dataset (hf_*)."""
    if fmt in _PER_FILE:
        return _PER_FILE[fmt][1]
    return _FOLDER_EXTENSIONS.get(fmt)


def check_sources(sources: list[SourceConfig]) -> None:
    """Raise SourceError for a file-based source whose path matches no file, before any run starts."""
    for src in sources:
        extensions = file_extensions(src.format)
        if extensions is not None and src.path:
            expand_paths(src.path, extensions, src.exclude)


def read_source(source: SourceConfig, files: list[Path] | None = None) -> ReaderOutput:
    """Every raw item of one source (or of `files` of it), in a stable order."""
    if source.format in _PER_FILE:
        reader, extensions = _PER_FILE[source.format]
        for path in files if files is not None else expand_paths(source.path, extensions, source.exclude):
            yield from reader(path, source)
    elif source.format == "hf_disk":
        yield from read_hf_disk(Path(source.path), source)
    elif source.format == "hf_hub":
        yield from read_hf_hub(source)
    elif source.format == "code_tree":
        yield from read_code_tree(Path(source.path), source, files)
    elif source.format == "email":
        yield from read_email(Path(source.path), source, files)
    else:  # the config's Literal makes this unreachable
        raise ValueError(f"unknown format {source.format}")


def source_fingerprint(source: SourceConfig) -> str:
    if source.format == "hf_hub":
        files = [Path(f) for f in source.hub_data_files or [] if Path(f).exists()]
        return hash_json({"config": source, "files": hash_file_stats(files) if files else None})
    if source.format == "hf_disk":
        files = [f for f in Path(source.path).rglob("*") if f.is_file()]
    else:
        files = expand_paths(source.path, file_extensions(source.format) or (), source.exclude)
    return hash_json({"config": source, "files": hash_file_stats(files)})


def _reject(item: RawReject, source: SourceConfig) -> dict:
    return {"stage": STAGE, "reason": item.reason, "detail": item.detail, "source": source.name,
            "origin": item.origin, "id": None, "record": item.preview}


def collect_batches(source: SourceConfig, batch_size: int, files: list[Path] | None = None
                    ) -> Iterator[tuple[int, BatchResult]]:
    """(units read, result) per batch of one source (or of `files` of it)."""
    mapper = FieldMapper(source)
    kept, rejected, n, total = [], [], 0, 0
    for item in read_source(source, files):
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


class CollectStageConfig(Strict):
    """What shapes collection's output: the sources and the collect settings."""

    sources: list[SourceConfig]
    collect: CollectConfig


class CollectStage(Stage):
    name = STAGE
    version = "2"  # 2: sharded by files
    input = None

    def __init__(self, sources: list[SourceConfig], config: CollectConfig | None = None):
        super().__init__(CollectStageConfig(sources=sources, collect=config or CollectConfig()))
        self.config: CollectStageConfig

    def input_fingerprint(self, source: Any) -> str:
        return hash_json([source_fingerprint(s) for s in self.config.sources])

    def kept_schema(self, input_schema: Any) -> Any:
        return RECORD_SCHEMA

    def part_rows(self) -> int | None:
        return self.config.collect.part_rows

    def shards(self, source: Any, plan: Any) -> list[Shard]:
        """Each source's files grouped into shards of about `shard_mb`, in order. A dataset (hf_*)
        or a source with a `limit` (its first N records, read in order) is one shard."""
        units: list[tuple[int, tuple[str, ...] | None]] = []
        limit = int(self.config.collect.shard_mb * 1e6)
        for k, src in enumerate(self.config.sources):
            extensions = file_extensions(src.format)
            if extensions is None or src.limit is not None:
                units.append((k, None))
                continue
            group: list[str] = []
            size = 0
            for f in expand_paths(src.path, extensions, src.exclude):
                if group and size + f.stat().st_size > limit:
                    units.append((k, tuple(group)))
                    group, size = [], 0
                group.append(str(f))
                size += f.stat().st_size
            if group:
                units.append((k, tuple(group)))
        return [Shard(i, part_name(i), unit=u) for i, u in enumerate(units)]

    def process_shard(self, plan: Any, shard: ShardInput) -> ShardResults:
        k, files = shard.shard.unit
        source = self.config.sources[k]
        yield from collect_batches(source, shard.batch_size, None if files is None else [Path(f) for f in files])

