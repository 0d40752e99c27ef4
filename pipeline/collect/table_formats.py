"""Readers for columnar sources: Parquet files, saved Hugging Face datasets, hub datasets.

All three stream Arrow batches (or rows, for a streamed hub dataset) instead of loading the
whole table as Python objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from pipeline.collect.base import RawReject, RawRow, ReaderOutput
from pipeline.collect.config import SourceConfig

_BATCH = 2048


def _rows_of_batches(batches: Iterator[Any], origin_prefix: str) -> ReaderOutput:
    row_no = 0
    for batch in batches:
        for row in batch.to_pylist():
            yield RawRow(row, f"{origin_prefix}#{row_no}")
            row_no += 1


def read_parquet(path: Path, source: SourceConfig) -> ReaderOutput:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        yield RawReject("unreadable_file", f"not a readable Parquet file: {exc}"[:300], str(path))
        return
    try:
        yield from _rows_of_batches(pf.iter_batches(batch_size=_BATCH), str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        # A corrupt row group ends this file; rows read before it stay, the rest is one reject.
        yield RawReject("unreadable_file", f"Parquet file broken part-way: {exc}"[:300], str(path))


def read_hf_disk(path: Path, source: SourceConfig) -> ReaderOutput:
    """A dataset saved with `save_to_disk` (a Dataset, or a DatasetDict and `hub_split`)."""
    import datasets

    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        if source.hub_split not in ds:
            raise ValueError(f"{path}: no split {source.hub_split!r}; splits: {list(ds)}")
        ds = ds[source.hub_split]
    table = ds.with_format("arrow")
    batches = (table[i : i + _BATCH] for i in range(0, len(ds), _BATCH))
    yield from _rows_of_batches(batches, f"{path}[{source.hub_split}]")


def read_hf_hub(source: SourceConfig) -> ReaderOutput:
    """`datasets.load_dataset` on a hub id, or a builder such as 'json' with `hub_data_files`.

    Streaming by default, so a large hub dataset is never materialised on disk or in memory.
    """
    import datasets

    ds = datasets.load_dataset(
        source.hub_id,
        source.hub_config,
        split=source.hub_split,
        revision=source.hub_revision,
        data_files=source.hub_data_files,
        streaming=source.hub_streaming,
    )
    prefix = f"hub:{source.hub_id}[{source.hub_split}]"
    for i, row in enumerate(ds):
        yield RawRow(dict(row), f"{prefix}#{i}")
