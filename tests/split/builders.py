"""Tiny records and stored inputs for the split tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.fingerprint import hash_json
from pipeline.records import RECORD_SCHEMA, empty_record, operation, record_id
from pipeline.split import SplitConfig
from pipeline.engine import run_stage
from pipeline.split.stage import SplitStage
from pipeline.store import BatchResult, StageOutput, StageStore, reject_rows

# A score column as the clean stage adds them: the split stage must pass it through.
SCORED_SCHEMA = RECORD_SCHEMA.append(pa.field("score_chars", pa.float64()))


def record(kind: str = "instruction", group: str | None = None, parent: str | None = None,
           source: str = "t", **fields: Any) -> dict[str, Any]:
    """A schema-complete record; its group is its own id unless `group` is given."""
    rid = record_id(kind, source, fields)
    return empty_record(id=rid, kind=kind, source=source, origin=f"{source}.jsonl:{rid[:6]}",
                        group_id=group or rid, parent_id=parent,
                        operations=[operation("collect.jsonl", "collect")], **fields)


def qa(i: int | str, group: str | None = None, **kw: Any) -> dict[str, Any]:
    return record("instruction", group=group, prompt=f"question number {i}", response=f"answer {i}", **kw)


def text(t: str, label: str, group: str | None = None) -> dict[str, Any]:
    return record("classification", group=group, text=t, label=label)


def stored_input(store: StageStore, rows: list[dict[str, Any]], scored: bool = False) -> StageOutput:
    """The rows as a stored stage output, as collect or clean would leave them."""
    schema = SCORED_SCHEMA if scored else RECORD_SCHEMA
    table = pa.Table.from_pylist([{**r, "score_chars": float(len(r.get("text") or r.get("prompt") or ""))}
                                  if scored else r for r in rows], schema=schema)

    def produce(writer):
        writer.write(BatchResult(table, reject_rows([])), table.num_rows)

    return store.run("input", "1", {}, hash_json([r["id"] for r in rows]), schema, produce)


def run_split(tmp: Path, rows: list[dict[str, Any]], scored: bool = False, **config: Any) -> StageOutput:
    store = StageStore(tmp)
    out = run_stage(SplitStage(SplitConfig.model_validate(config)), stored_input(store, rows, scored), store,
                        batch_size=700)
    c = out.counts
    assert c["in"] == c["kept"] + c["rejected"] == len(rows)
    return out


def assignment(out: StageOutput) -> dict[str, str]:
    """record id -> split."""
    t = out.read_kept()
    return dict(zip(t.column("id").to_pylist(), t.column("split").to_pylist()))


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
