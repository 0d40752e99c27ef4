"""Reading a split back, and naming it: helpers for the trainer and the evaluator."""

from __future__ import annotations

import hashlib
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.split.config import SPLITS
from pipeline.split.stage import SPLIT_COLUMN
from pipeline.store import StageOutput


def _check_split(name: str) -> None:
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; splits: {list(SPLITS)}")


def read_split(output: StageOutput, name: str, columns: Sequence[str] | None = None) -> pa.Table:
    """The records of one split (`columns` only, when given), in stored order."""
    _check_split(name)
    # The filter is pushed into the Parquet reader, so other splits' rows are skipped, not loaded.
    return output.read_kept(columns, filters=[(SPLIT_COLUMN, "=", name)])


def split_fingerprints(output: StageOutput) -> dict[str, str]:
    """A fingerprint per split: the hash of its sorted record ids.

    A model's report names the fingerprint of the test set it was scored on; the same ids give
    the same fingerprint whatever the row order or the other columns.
    """
    table = output.read_kept(["id", SPLIT_COLUMN])
    out = {}
    for name in SPLITS:
        ids = table.filter(pc.equal(table[SPLIT_COLUMN], name))["id"].to_pylist()
        h = hashlib.blake2b(f"split\x1f{name}".encode(), digest_size=16)
        for rid in sorted(ids):
            h.update(b"\n" + rid.encode())
        out[name] = h.hexdigest()
    return out
