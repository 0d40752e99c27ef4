"""From a user's row to a schema record: field mapping, type checks, id and lineage.

Every way a row can fail becomes a reason: `missing_field:<f>`, `wrong_type:<f>`,
`empty_field:<f>`, `nul_byte:<f>`, `bad_utf8:<f>`, `too_large`, `schema_invalid`.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.collect.base import RawReject, RawRow, preview_text
from pipeline.collect.config import SourceConfig
from pipeline.records import REQUIRED_FIELDS, empty_record, group_id_for, operation, record_id
from pipeline.schema_files import validation_error

STRING_FIELDS = ("text", "label", "prompt", "response", "system", "code", "language")
_KIND_FIELDS = {
    "classification": ("text", "label"),
    "instruction": ("prompt", "response", "system", "messages"),
    "code": ("prompt", "code", "language"),
}
# ShareGPT-style conversations name roles and keys differently.
_ROLE_ALIASES = {"human": "user", "gpt": "assistant", "bot": "assistant", "model": "assistant", "user": "user",
                 "assistant": "assistant", "system": "system"}
_MISSING = object()


class RowRejected(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _lookup(data: dict[str, Any], path: str) -> Any:
    cur: Any = data
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


def _check_string(field: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RowRejected(f"wrong_type:{field}", f"{field} must be a string, got {type(value).__name__}")
    if not isinstance(value, str):
        if field != "label":  # numeric labels are common (0/1); numeric prompts are a mapping mistake
            raise RowRejected(f"wrong_type:{field}", f"{field} must be a string, got {type(value).__name__}")
        value = str(value)
    if "\x00" in value:
        raise RowRejected(f"nul_byte:{field}", f"{field} contains a NUL byte at {value.index(chr(0))}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RowRejected(f"bad_utf8:{field}", f"{field} is not valid Unicode: {exc.reason}") from None
    return value


def _check_messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise RowRejected("wrong_type:messages", "messages must be a non-empty list of {role, content}")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise RowRejected("wrong_type:messages", f"messages[{i}] is not an object")
        role = _ROLE_ALIASES.get(str(m.get("role", m.get("from", ""))).lower())
        content = m.get("content", m.get("value"))
        if role is None or not isinstance(content, str):
            raise RowRejected("wrong_type:messages", f"messages[{i}] needs a known role and string content")
        out.append({"role": role, "content": _check_string("messages", content)})
    return out


def _from_messages(messages: list[dict[str, str]]) -> dict[str, str | None]:
    """The final assistant turn is the response, the user turn before it the prompt."""
    last_a = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last_a is None:
        raise RowRejected("missing_field:response", "messages have no assistant turn")
    last_u = max((i for i, m in enumerate(messages[:last_a]) if m["role"] == "user"), default=None)
    if last_u is None:
        raise RowRejected("missing_field:prompt", "messages have no user turn before the last assistant turn")
    system = next((m["content"] for m in messages if m["role"] == "system"), None)
    return {"prompt": messages[last_u]["content"], "response": messages[last_a]["content"], "system": system}


class FieldMapper:
    """Maps rows of one source to records of the source's kind."""

    def __init__(self, source: SourceConfig):
        self.source = source
        self.kind = source.kind
        self.paths = {f: source.fields.get(f, f) for f in _KIND_FIELDS[self.kind] if f not in source.constants}
        if "group" in source.fields:
            self.paths["group"] = source.fields["group"]
        self.consumed_roots = {p.split(".")[0] for p in self.paths.values()}
        self.op = operation(f"collect.{source.format}", "collect", source=source.name)

    def map(self, row: RawRow) -> dict[str, Any] | RawReject:
        try:
            return self._map(row)
        except RowRejected as rej:
            return RawReject(rej.reason, rej.detail, row.origin, preview_text(_json_preview(row.data)))

    def _map(self, row: RawRow) -> dict[str, Any]:
        rec: dict[str, Any] = {}
        size = row.nbytes
        for field, path in self.paths.items():
            value = _lookup(row.data, path)
            if value is _MISSING or value is None:
                continue
            if field == "group":
                rec["group"] = str(value)
            elif field == "messages":
                rec["messages"] = _check_messages(value)
                size = size or sum(len(m["content"]) for m in rec["messages"])
            else:
                rec[field] = _check_string(field, value)
                size = size if row.nbytes else size + len(rec[field])
        rec.update(self.source.constants)
        if size > self.source.max_record_bytes:
            raise RowRejected("too_large", f"record of {size} bytes > max_record_bytes {self.source.max_record_bytes}")
        if self.kind == "instruction" and rec.get("messages"):
            for k, v in _from_messages(rec["messages"]).items():
                rec.setdefault(k, v)
        for field in REQUIRED_FIELDS[self.kind]:
            if field not in rec:
                raise RowRejected(f"missing_field:{field}", f"no value for {field} (column {self.paths.get(field, field)!r})")
            if not rec[field].strip():
                raise RowRejected(f"empty_field:{field}", f"{field} is empty")
        return self._finish(rec, row)

    def _finish(self, rec: dict[str, Any], row: RawRow) -> dict[str, Any]:
        group = rec.pop("group", None)
        rid = record_id(self.kind, self.source.name, rec)
        group_id = rid if group is None else group_id_for(self.source.name, group)
        out = empty_record(**rec, id=rid, kind=self.kind, source=self.source.name, origin=row.origin,
                           group_id=group_id, operations=[self.op])
        if self.source.keep_extra:
            extra = {k: v for k, v in row.data.items() if k not in self.consumed_roots}
            out["meta"] = json.dumps(extra, ensure_ascii=True, default=str) if extra else None
        error = validation_error(self.kind, {k: v for k, v in out.items() if v is not None})
        if error:
            raise RowRejected("schema_invalid", error)
        return out


def _json_preview(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=True, default=str)[:4000]
