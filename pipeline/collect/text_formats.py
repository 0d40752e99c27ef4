"""Readers for line- and text-based files: JSONL, JSON and CSV.

They read bytes and decode per line or row, so invalid UTF-8, NUL bytes and oversized rows
are rejected one unit at a time instead of failing the file; JSONL and CSV stream, so memory
stays bounded however large the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from pathlib import Path
from typing import Iterator

from pipeline.collect.base import RawReject, RawRow, ReaderOutput, looks_binary, preview_bytes, preview_text
from pipeline.collect.config import SourceConfig


def _file_level_problem(path: Path) -> RawReject | None:
    if path.stat().st_size == 0:
        return RawReject("empty_file", "the file is empty", str(path))
    if looks_binary(path):
        return RawReject("binary_file", "mostly NUL and control bytes: not a text file", str(path))
    return None


def _bounded_lines(f: io.BufferedReader, limit: int) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, too_long) per line; a line over `limit` bytes is skipped, not held."""
    lineno = 0
    while True:
        chunk = f.readline(limit + 1)
        if not chunk:
            return
        lineno += 1
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            head, total = chunk[:4096], len(chunk)
            while chunk and not chunk.endswith(b"\n"):
                chunk = f.readline(1 << 20)
                total += len(chunk)
            yield lineno, head + f"... [{total} bytes]".encode(), True
        else:
            yield lineno, chunk, False


def read_jsonl(path: Path, source: SourceConfig) -> ReaderOutput:
    problem = _file_level_problem(path)
    if problem:
        yield problem
        return
    with open(path, "rb") as f:
        for lineno, raw, too_long in _bounded_lines(f, source.max_record_bytes):
            origin = f"{path}:{lineno}"
            if too_long:
                yield RawReject("too_large", f"line over max_record_bytes {source.max_record_bytes}", origin,
                                preview_bytes(raw))
                continue
            if not raw.strip():
                continue  # blank lines hold no record
            if b"\0" in raw:
                yield RawReject("nul_byte", f"NUL byte at {raw.index(0)}", origin, preview_bytes(raw))
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield RawReject("bad_utf8", f"invalid UTF-8 at byte {exc.start}", origin, preview_bytes(raw))
                continue
            try:
                data = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as exc:
                yield RawReject("bad_json", str(exc)[:300], origin, preview_text(text))
                continue
            if not isinstance(data, dict):
                yield RawReject("not_an_object", f"a JSON {type(data).__name__}, not an object", origin,
                                preview_text(text))
                continue
            yield RawRow(data, origin, len(raw))


def read_json(path: Path, source: SourceConfig) -> ReaderOutput:
    """A JSON file holding an array of objects (or one object). Read whole: use JSONL for big data."""
    problem = _file_level_problem(path)
    if problem:
        yield problem
        return
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        yield RawReject("bad_utf8", f"invalid UTF-8 at byte {exc.start}", str(path), preview_bytes(raw))
        return
    except (json.JSONDecodeError, RecursionError) as exc:
        yield RawReject("bad_json", str(exc)[:300], str(path), preview_bytes(raw))
        return
    items = data if isinstance(data, list) else [data]
    for i, item in enumerate(items):
        origin = f"{path}#{i}"
        if not isinstance(item, dict):
            yield RawReject("not_an_object", f"element {i} is a JSON {type(item).__name__}", origin,
                            preview_text(json.dumps(item, default=str)))
            continue
        yield RawRow(item, origin)


def read_csv(path: Path, source: SourceConfig) -> ReaderOutput:
    """CSV with a header row. Undecodable bytes are carried as surrogates and rejected per row."""
    problem = _file_level_problem(path)
    if problem:
        yield problem
        return
    csv.field_size_limit(sys.maxsize)  # we bound row size ourselves, with a reason instead of an error
    with open(path, "rb") as fb:
        text = codecs.getreader("utf-8")(fb, errors="surrogateescape")
        reader = csv.reader(text, delimiter=source.csv_delimiter)
        try:
            header = next(reader)
        except (StopIteration, csv.Error) as exc:
            yield RawReject("bad_csv", f"no readable header row: {exc}", str(path))
            return
        width = len(header)
        row_no = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row_no += 1
                yield RawReject("bad_csv", str(exc), f"{path}:row {row_no}")
                continue
            row_no += 1
            origin = f"{path}:row {row_no} (line {reader.line_num})"
            if not row:
                continue
            size = sum(len(c) for c in row)
            if size > source.max_record_bytes:
                yield RawReject("too_large", f"row of {size} chars > max_record_bytes", origin,
                                preview_text(",".join(row)))
                continue
            if any(_has_surrogate(c) for c in row):
                yield RawReject("bad_utf8", "invalid UTF-8 in the row", origin, preview_text(",".join(row)))
                continue
            if len(row) != width:
                yield RawReject("bad_csv", f"{len(row)} fields, header has {width}", origin,
                                preview_text(",".join(row)))
                continue
            yield RawRow(dict(zip(header, row)), origin, size)


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
