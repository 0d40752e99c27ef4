"""A corpus of deliberately broken inputs: nothing crashes, every bad unit has a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.collect.conftest import reasons_by_origin

GOOD = {"q": "What is the capital of France?", "a": "Paris is the capital of France."}
INSTR = {"kind": "instruction", "fields": {"prompt": "q", "response": "a"}}


def _broken_jsonl(path: Path) -> dict[int, str]:
    """Writes the file; returns line number -> expected reject reason."""
    lines: list[bytes] = [
        json.dumps(GOOD).encode(),                                   # 1 good
        b'{"q": "unterminated", "a": ',                               # 2 broken JSON
        b'{"q": "caf\xe9 au lait", "a": "latin-1 bytes"}',            # 3 invalid UTF-8
        json.dumps({"q": 5, "a": "a number is not a prompt"}).encode(),  # 4 wrong type
        json.dumps({"q": "no answer here"}).encode(),                 # 5 missing field
        json.dumps({"q": "nul \u0000 escaped", "a": "x"}).encode(),   # 6 NUL inside a string
        b'{"q": "raw nul \x00 byte", "a": "x"}',                      # 7 raw NUL byte
        b"[1, 2, 3]",                                                 # 8 not an object
        json.dumps({"q": "big", "a": "x" * 50_000_000}).encode(),     # 9 a 50 MB record
        b"",                                                          # 10 blank: no record
        json.dumps({"q": "   ", "a": "empty prompt"}).encode(),       # 11 empty field
        json.dumps({"q": "lone \ud800 surrogate", "a": "x"}).encode(),  # 12 escaped lone surrogate
        json.dumps({"q": "Is this fine?", "a": ["a", "list"]}).encode(),  # 13 wrong type
        json.dumps(GOOD | {"extra": {"nested": 1}}).encode(),         # 14 good, extra kept in meta
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return {2: "bad_json", 3: "bad_utf8", 4: "wrong_type:prompt", 5: "missing_field:response",
            6: "nul_byte:prompt", 7: "nul_byte", 8: "not_an_object", 9: "too_large",
            11: "empty_field:prompt", 12: "bad_utf8:prompt", 13: "wrong_type:response"}


def test_broken_jsonl_lines_each_rejected_with_reason(tmp_path, run_collect):
    path = tmp_path / "data.jsonl"
    expected = _broken_jsonl(path)
    out = run_collect({"name": "broken", "format": "jsonl", "path": str(path), **INSTR,
                       "max_record_bytes": 10_000_000})
    got = reasons_by_origin(out)
    assert got == {f"{path}:{n}": reason for n, reason in expected.items()}
    assert out.counts["kept"] == 2 and out.counts["in"] == 13  # the blank line is no record
    kept = out.read_kept().to_pylist()
    assert json.loads(kept[1]["meta"]) == {"extra": {"nested": 1}}
    huge = next(r for r in out.read_rejected().to_pylist() if r["reason"] == "too_large")
    assert len(huge["record"]) < 10_000  # a preview, not the 50 MB


def test_empty_and_binary_files_are_rejected_as_files(tmp_path, run_collect):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a_empty.jsonl").write_bytes(b"")
    (d / "b_binary.jsonl").write_bytes(bytes(range(256)) * 64)
    (d / "c_good.jsonl").write_text(json.dumps(GOOD) + "\n")
    out = run_collect({"name": "files", "format": "jsonl", "path": str(d), **INSTR})
    assert reasons_by_origin(out) == {str(d / "a_empty.jsonl"): "empty_file",
                                      str(d / "b_binary.jsonl"): "binary_file"}
    assert out.counts == {"in": 3, "kept": 1, "rejected": 2,
                          "rejected_by_reason": {"binary_file": 1, "empty_file": 1}}


def test_broken_csv_rows(tmp_path, run_collect):
    path = tmp_path / "data.csv"
    path.write_bytes(
        b"text,label\n"
        b"hello there friend,ham\n"
        b"too,many,fields\n"
        b"bad \xff\xfe bytes,spam\n"
        b'"quoted, with comma",ham\n'
        b",spam\n"
        b"only one field\n"
    )
    out = run_collect({"name": "csv", "kind": "classification", "format": "csv", "path": str(path)})
    reasons = sorted(r["reason"] for r in out.read_rejected().to_pylist())
    assert reasons == ["bad_csv", "bad_csv", "bad_utf8", "empty_field:text"]
    assert [r["text"] for r in out.read_kept().to_pylist()] == ["hello there friend", "quoted, with comma"]


def test_broken_json_files(tmp_path, run_collect):
    (tmp_path / "trunc.json").write_text('[{"q": "a", "a": "b"}, {"q": ')
    (tmp_path / "mixed.json").write_text(json.dumps([GOOD, "a string", GOOD | {"a": None}]))
    out_json = run_collect({"name": "j", "format": "json", "path": str(tmp_path / "*.json"), **INSTR})
    assert sorted(r["reason"] for r in out_json.read_rejected().to_pylist()) == [
        "bad_json", "missing_field:response", "not_an_object"]
    assert out_json.counts["kept"] == 1


def test_broken_parquet(tmp_path, run_collect):
    d = tmp_path / "in"
    d.mkdir()
    (d / "garbage.parquet").write_bytes(b"PAR1 this is not parquet at all")
    pq.write_table(pa.table({"q": [1, 2], "a": ["x", "y"]}), d / "wrongtype.parquet")
    out = run_collect({"name": "p", "format": "parquet", "path": str(d), **INSTR})
    assert out.counts["rejected_by_reason"] == {"unreadable_file": 1, "wrong_type:prompt": 2}
    assert out.counts["kept"] == 0
