"""Row helpers every stage shares: reject rows, and kept rows with some columns replaced.

One builder per idiom, so a reject row has the same fields whichever stage wrote it.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import pyarrow as pa

REJECT_SCHEMA = pa.schema(
    [
        ("stage", pa.string()),
        ("reason", pa.string()),  # machine-readable: too_short, bad_utf8, missing_field:response
        ("detail", pa.string()),  # human-readable explanation
        ("source", pa.string()),
        ("origin", pa.string()),  # file:line, file:row or file for file-level problems
        ("id", pa.string()),  # record id when one could be computed
        ("record", pa.string()),  # the record as JSON, or a preview of the raw input
        ("duplicate_of", pa.string()),  # dedup: the id of the record this one duplicates
        ("similarity", pa.float64()),  # dedup: its similarity to that record (1.0 for exact)
    ]
)


def reject_rows(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=REJECT_SCHEMA)


def reject_row(stage: str, reason: str, detail: str, rec: Mapping[str, Any], *,
               duplicate_of: str | None = None, similarity: float | None = None,
               record: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The reject row of record `rec`; `record` is what to store as JSON when not `rec` itself."""
    return {"stage": stage, "reason": reason, "detail": detail, "source": rec.get("source"),
            "origin": rec.get("origin"), "id": rec.get("id"), "duplicate_of": duplicate_of,
            "similarity": None if similarity is None else float(similarity),
            "record": json.dumps(dict(rec if record is None else record), ensure_ascii=False, default=str)}


def table_row(table: pa.Table, i: int) -> dict[str, Any]:
    return table.slice(i, 1).to_pylist()[0]


def with_columns(table: pa.Table, schema: pa.Schema, replaced: Mapping[str, list[Any]]) -> pa.Table:
    """`table` in `schema`'s column order, with the columns named in `replaced` taking new values."""
    arrays = [pa.array(replaced[f.name], type=f.type) if f.name in replaced else table.column(f.name)
              for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)
