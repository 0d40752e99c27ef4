"""CleanStage end to end: every reject reason, schema, lineage, accounting, workers."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pyarrow as pa
import pytest

from pipeline.clean import SCORE_COLUMNS, CleanStage
from pipeline.clean.quality import SCORE_NAMES
from pipeline.clean.config import CleanConfig
from pipeline.records import RECORD_SCHEMA, records_to_table
from pipeline.engine import run_stage
from pipeline.executors.local import LocalExecutor
from pipeline.store import REJECT_SCHEMA, BatchResult, StageStore, reject_rows

REPEATED_LINES = "\n".join(["Buy cheap watches online today at our store."] * 5)
# One line, so no duplicated lines; few repeated 2-grams, but every 5-gram repeats.
REPEATED_5GRAMS = " ".join(["rivers carve deep valleys while farmers plant barley near ridges"] * 3)


def _reject(h, record, cfg=None):
    out = h.clean_one(record, cfg)
    assert not out["kept"], out
    return out


@pytest.mark.parametrize(
    "make, cfg, reason",
    [
        (lambda h: h.classification("\x00\x01 \t "), {}, "empty_after_normalize:text"),
        (lambda h: h.instruction("Say something nice.", " \x07 "), {}, "empty_after_normalize:response"),
        (lambda h: h.code("Return one.", "   \r\n  "), {}, "empty_after_normalize:code"),
        (lambda h: h.code("Return one.", "def f(:\n"), {}, "syntax_error"),
        (lambda h: h.classification("a"), {}, "too_short"),
        (lambda h: h.classification("a b c d e f g h"), {"quality": {"chars": {"max": 10}}}, "too_long"),
        (lambda h: h.classification("hello world"), {"quality": {"words": {"min": 3}}}, "too_few_words"),
        (lambda h: h.classification("a b c d"), {"quality": {"words": {"max": 3}}}, "too_many_words"),
        (lambda h: h.classification(REPEATED_LINES), {}, "repeated_lines"),
        (lambda h: h.classification(" ".join(["good deal"] * 15)), {}, "repeated_2grams"),
        (lambda h: h.classification(REPEATED_5GRAMS), {}, "repeated_5grams"),
        (lambda h: h.classification("#one #two #three four"), {}, "too_many_symbols"),
        (lambda h: h.classification("12 34 56 78 apples"), {}, "too_few_alpha_words"),
        (lambda h: h.instruction("Repeat: the cat sat", "repeat: the cat sat"), {}, "copied_response"),
        (lambda h: h.classification(h.GERMAN), {}, "wrong_language"),
    ],
)
def test_every_reject_reason_is_reachable(h, make, cfg, reason):
    out = _reject(h, make(h), h.config(**cfg))
    assert out["reason"] == reason
    assert out["stage"] == "clean"
    assert out["detail"]
    # the reject row carries the record's identity and the cleaned record with its scores
    assert out["record"]["id"] == out["id"]
    assert out["source"] == "test" and out["origin"] == "test.jsonl:1"
    assert all(f"score_{name}" in out["record"] for name in SCORE_NAMES)


def test_first_failing_check_is_the_reason_and_detail_lists_all(h):
    # too short, too few words, no letters: all three fail
    out = _reject(h, h.classification("1"), h.config(quality={"words": {"min": 2}}))
    assert out["reason"] == "too_short"
    assert "too_short: score_chars=1 < min 2" in out["detail"]
    assert "too_few_words: score_words=1 < min 2" in out["detail"]
    assert "too_few_alpha_words: score_alpha_word_frac=0 < min 0.5" in out["detail"]


def test_rejected_record_is_the_cleaned_one(h):
    out = _reject(h, h.classification("Ｍａｉｌ me@example.com #a #b #c"))
    assert out["reason"] == "too_many_symbols"
    assert out["record"]["text"] == "Mail <EMAIL> #a #b #c"  # redacted: no PII in the reject file
    assert [op["op"] for op in out["record"]["operations"]][-2:] == ["clean.normalize", "clean.pii_redact"]


def test_disabled_filter_never_rejects_but_score_is_kept(h):
    rec = h.classification("#one #two #three four")
    out = h.clean_one(rec, h.config(quality={"symbol_ratio": {"enabled": False, "max": 0.5}}))
    assert out["kept"] and out["score_symbol_ratio"] == pytest.approx(0.75)
    repetition_off = {name: {"enabled": False} for name in ("dup_line_frac", "top_2gram_frac", "dup_5gram_frac")}
    off = h.clean_one(h.classification(REPEATED_LINES), h.config(quality=repetition_off))
    assert off["kept"]
    assert off["score_dup_line_frac"] > 0.5 and off["score_top_2gram_frac"] > 0 and off["score_dup_5gram_frac"] > 0.5


def test_kept_schema_is_input_plus_score_columns():
    stage = CleanStage()
    schema = stage.kept_schema(RECORD_SCHEMA)
    assert schema.names == RECORD_SCHEMA.names + [name for name, _ in SCORE_COLUMNS]
    for name, type_ in SCORE_COLUMNS:
        assert schema.field(name).type == type_
    assert {schema.field(f"score_{n}").type for n in SCORE_NAMES} == {pa.float64()}
    assert schema.field("lang").type == pa.string() and schema.field("pii_redactions").type == pa.int64()
    # a re-clean replaces the columns instead of doubling them
    assert stage.kept_schema(schema) == schema


def test_kept_table_matches_kept_schema(h):
    result = h.run_records([h.classification(h.ENGLISH), h.instruction("Hi there", "Hello! How can I help?")])
    assert result.kept.schema == CleanStage().kept_schema(RECORD_SCHEMA)
    assert result.rejected.schema == REJECT_SCHEMA


def test_reclean_is_idempotent(h):
    records = [
        h.classification("Ｗｒｉｔｅ  to me@example.com about 192.168.1.1, please."),
        h.instruction("What is\r\n2+2?", "It is four."),
    ]
    first = h.run_records(records)
    assert first.kept.num_rows == 2
    again = CleanStage().process_batch(first.kept.to_batches()[0])
    assert again.kept.num_rows == 2
    assert again.kept.schema == first.kept.schema
    # nothing left to normalise or redact, so no new lineage entries and the same values
    assert again.kept.column("operations").to_pylist() == first.kept.column("operations").to_pylist()
    assert again.kept.column("text").to_pylist() == first.kept.column("text").to_pylist()
    assert again.counters == {}


def _mixed_batch(h) -> list[dict]:
    return [
        h.classification(h.ENGLISH),
        h.classification(h.GERMAN),
        h.classification("a"),
        h.classification("Ping me at me@example.com or +1 (555) 123-4567, thanks a lot!"),
        h.instruction("Name three primary colours.", "Red, yellow and blue."),
        h.instruction("Copy this sentence exactly", "copy this sentence exactly"),
        h.instruction("Say something.", "\x00"),
        h.code("Add two numbers.", "def add(a, b):\n    return a + b\n"),
        h.code("Add two numbers.", "def add(a, b)\n    return a + b\n"),
        h.code("Add two numbers in JavaScript.", "const add = (a, b) => a + b;", language="javascript"),
        {**h.classification("What kind of record is this one?"), "kind": "mystery"},
    ]


def test_accounting_over_a_mixed_batch(h):
    records = _mixed_batch(h)
    result = h.run_records(records)
    assert result.kept.num_rows + result.rejected.num_rows == len(records)
    kept_ids = result.kept.column("id").to_pylist()
    rejected = result.rejected.to_pylist()
    assert sorted(kept_ids + [r["id"] for r in rejected]) == sorted(r["id"] for r in records)
    assert all(r["reason"] and r["stage"] == "clean" for r in rejected)
    assert {r["reason"] for r in rejected} == {
        "wrong_language",
        "too_short",
        "copied_response",
        "empty_after_normalize:response",
        "syntax_error",
        "unknown_kind",
    }
    assert result.counters["pii_email"] == 1 and result.counters["pii_phone"] == 1
    assert result.counters["normalized_records"] == 1  # the NUL in the empty response


def test_stage_pickles_without_loaded_state(h):
    stage = CleanStage()
    stage.setup()
    h.run_records([h.classification(h.ENGLISH)])
    assert len(pickle.dumps(stage)) < 20_000


def test_run_batch_stage_with_two_workers(tmp_path, h):
    records = _mixed_batch(h) * 3
    # distinct ids are not required by the stage; origins tell the copies apart
    for i, r in enumerate(records):
        r["origin"] = f"test.jsonl:{i + 1}"
    table = records_to_table(records)
    store = StageStore(tmp_path)

    def produce(writer):
        writer.write(BatchResult(table, reject_rows([])), table.num_rows)

    source = store.run("collect", "1", {"test": True}, "input-fp", RECORD_SCHEMA, produce)
    stage = CleanStage(CleanConfig())
    out = run_stage(stage, source, store, LocalExecutor(2), batch_size=4)
    single = h.run_records(records)
    counts = out.manifest["counts"]
    assert counts["in"] == len(records)
    assert counts["kept"] == single.kept.num_rows
    assert counts["rejected"] == single.rejected.num_rows
    assert counts["kept"] + counts["rejected"] == counts["in"]
    assert sum(counts["rejected_by_reason"].values()) == counts["rejected"]
    assert counts["rejected_by_reason"]["syntax_error"] == 3
    assert out.manifest["counters"]["pii_email"] == 3
    kept = out.read_kept()
    assert kept.schema.names == stage.kept_schema(RECORD_SCHEMA).names
    assert kept.column("origin").to_pylist() == single.kept.column("origin").to_pylist()  # order kept
    rejected = out.read_rejected().to_pylist()
    assert all(json.loads(r["record"])["id"] == r["id"] for r in rejected)
    # same inputs and config: the stored output is reused
    assert run_stage(CleanStage(CleanConfig()), source, store, LocalExecutor(2), batch_size=4).reused


def test_importing_the_package_stays_light():
    code = (
        "import sys, pipeline.clean, pipeline.clean.stage; "
        "heavy = [m for m in ('selectolax', 'py3langid') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
