"""The store: accounting is enforced, outputs appear atomically, and are reused by fingerprint."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipeline.records import RECORD_SCHEMA, empty_record, operation, record_id, records_to_table
from pipeline.store import AccountingError, BatchResult, StageStore, reject_rows


def _records(n: int) -> pa.Table:
    rows = []
    for i in range(n):
        rec = {"prompt": f"question {i}", "response": f"answer {i}"}
        rid = record_id("instruction", "t", rec)
        rows.append(empty_record(**rec, id=rid, kind="instruction", source="t", group_id=rid,
                                 operations=[operation("collect.jsonl", "collect")]))
    return records_to_table(rows)


def _produce(table: pa.Table, calls: list[int]):
    def produce(writer):
        calls.append(1)
        writer.write(BatchResult(table.slice(0, 3), reject_rows([
            {"stage": "t", "reason": "too_short", "detail": "", "source": "t", "origin": "f:1"}])), 4)
        writer.write(BatchResult(table.slice(3), reject_rows([])), table.num_rows - 3)
    return produce


def test_manifest_counts_and_reuse(tmp_path):
    store, calls, table = StageStore(tmp_path), [], _records(5)
    first = store.run("t", "1", {"a": 1}, "fp-in", RECORD_SCHEMA, _produce(table, calls))
    assert not first.reused
    assert first.counts == {"in": 6, "kept": 5, "rejected": 1, "rejected_by_reason": {"too_short": 1}}
    m = first.manifest
    assert m["config"] == {"a": 1} and m["input_fingerprint"] == "fp-in" and m["versions"]["pyarrow"]
    assert m["timings"]["wall_s"] >= 0 and m["output_fingerprint"]
    again = store.run("t", "1", {"a": 1}, "fp-in", RECORD_SCHEMA, _produce(table, calls))
    assert again.reused and again.path == first.path and calls == [1]
    assert again.read_kept().equals(first.read_kept())
    # A different config, input or stage version is a different output.
    store.run("t", "1", {"a": 2}, "fp-in", RECORD_SCHEMA, _produce(table, calls))
    store.run("t", "1", {"a": 1}, "fp-other", RECORD_SCHEMA, _produce(table, calls))
    store.run("t", "2", {"a": 1}, "fp-in", RECORD_SCHEMA, _produce(table, calls))
    assert len(calls) == 4


def test_losing_a_record_is_an_error_and_leaves_nothing(tmp_path):
    store, table = StageStore(tmp_path), _records(3)

    def lossy(writer):
        writer.write(BatchResult(table.slice(0, 2), reject_rows([])), 3)

    with pytest.raises(AccountingError):
        store.run("t", "1", {}, "fp", RECORD_SCHEMA, lossy)
    assert list(store.stages_dir.iterdir()) == []


def test_a_failed_stage_leaves_no_output_and_abandoned_temp_folders_are_cleared(tmp_path):
    store, table = StageStore(tmp_path), _records(3)
    abandoned = store.stages_dir / ".t-deadbeef.tmp-1234"
    abandoned.mkdir()
    (abandoned / "kept.parquet").write_bytes(b"half a file")

    def crash(writer):
        writer.write(BatchResult(table, reject_rows([])), 3)
        raise OSError("disk went away")

    with pytest.raises(OSError):
        store.run("t", "1", {}, "fp", RECORD_SCHEMA, crash)
    assert list(store.stages_dir.iterdir()) == []
    assert store.lookup("t", store.stage_key("t", "1", {}, "fp")) is None


def test_stage_output_loads_as_a_hugging_face_dataset(tmp_path):
    store, table = StageStore(tmp_path), _records(5)
    out = store.run("t", "1", {}, "fp", RECORD_SCHEMA, _produce(table, []))
    ds = out.to_dataset()
    assert len(ds) == 5 and ds[0]["prompt"] == "question 0" and ds[0]["operations"][0]["op"] == "collect.jsonl"
