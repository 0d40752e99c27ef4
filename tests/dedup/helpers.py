"""Records and stored inputs for the dedup tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.stage import DedupStage
from pipeline.engine import run_stage
from pipeline.fingerprint import hash_json
from pipeline.records import RECORD_SCHEMA
from pipeline.store import BatchResult, StageOutput, StageStore, reject_rows
from tests.split.builders import record

ONLY = {"exact": {"near": {"enabled": False}, "semantic": {"enabled": False}},
        "near": {"exact": {"enabled": False}, "semantic": {"enabled": False}},
        "semantic": {"exact": {"enabled": False}, "near": {"enabled": False}}}


def qa(prompt: str, response: str, group: str | None = None, source: str = "t", **kw: Any) -> dict[str, Any]:
    return record("instruction", group=group, source=source, prompt=prompt, response=response, **kw)


def doc(text: str, label: str = "x", group: str | None = None, source: str = "t") -> dict[str, Any]:
    return record("classification", group=group, source=source, text=text, label=label)


def stored_input(store: StageStore, rows: list[dict[str, Any]]) -> StageOutput:
    """The rows as a stored stage output; keys beyond the record schema become float columns
    (as cleaning's score_* columns are)."""
    extra = sorted({k for r in rows for k in r} - set(RECORD_SCHEMA.names))
    schema = pa.schema([*RECORD_SCHEMA, *(pa.field(k, pa.float64()) for k in extra)])
    table = pa.Table.from_pylist(rows, schema=schema)

    def produce(writer):
        writer.write(BatchResult(table, reject_rows([])), table.num_rows)

    return store.run("input", "1", {}, hash_json([[r["id"] for r in rows], extra]), schema, produce)


def run_level(tmp: Path, level: str, rows: list[dict[str, Any]], cache_dir: Path | None = None,
              **config: Any) -> StageOutput:
    """One dedup level over `rows`, with the accounting every stage must keep checked."""
    store = StageStore(tmp)
    cfg = DedupConfig.model_validate({**ONLY[level], **config})
    out = run_stage(DedupStage(level, cfg, cache_dir or tmp / "cache"), stored_input(store, rows), store,
                      batch_size=7)
    c = out.counts
    assert c["in"] == c["kept"] + c["rejected"] == len(rows)
    assert sum(c["rejected_by_reason"].values()) == c["rejected"]
    return out


def kept_ids(out: StageOutput) -> list[str]:
    return out.read_kept().column("id").to_pylist()


def rejected(out: StageOutput) -> dict[str, dict[str, Any]]:
    """id -> its reject row."""
    return {r["id"]: r for r in out.read_rejected().to_pylist()}
