"""Record kinds, their Arrow layout, and stable record ids.

All kinds share one Arrow schema (unused fields are null) so that stages, splits and the
catalog handle a mixed dataset the same way; the per-kind JSON Schemas in `schemas/records`
say which fields each kind requires.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

RecordKind = Literal["classification", "instruction", "code"]
KINDS: tuple[str, ...] = ("classification", "instruction", "code")

# The content fields of each kind, in the order they enter the record id.
CONTENT_FIELDS: dict[str, tuple[str, ...]] = {
    "classification": ("text", "label"),
    "instruction": ("system", "prompt", "response"),
    "code": ("prompt", "code", "language"),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "classification": ("text", "label"),
    "instruction": ("prompt", "response"),
    "code": ("prompt", "code", "language"),
}
TEXT_FIELDS = ("text", "label", "prompt", "response", "system", "code", "language")

OPERATION_TYPE = pa.struct([("op", pa.string()), ("stage", pa.string()), ("params", pa.string())])
MESSAGE_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])

RECORD_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("kind", pa.string()),
        ("source", pa.string()),
        ("origin", pa.string()),
        ("text", pa.string()),
        ("label", pa.string()),
        ("system", pa.string()),
        ("prompt", pa.string()),
        ("response", pa.string()),
        ("messages", pa.list_(MESSAGE_TYPE)),
        ("code", pa.string()),
        ("language", pa.string()),
        ("parent_id", pa.string()),
        ("group_id", pa.string()),
        ("operations", pa.list_(OPERATION_TYPE)),
        ("meta", pa.string()),
    ]
)
RECORD_COLUMNS = tuple(RECORD_SCHEMA.names)


class Operation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: str = Field(min_length=1, description="what was done, e.g. collect.jsonl or clean.pii_redact")
    stage: str = Field(min_length=1, description="the stage that did it")
    params: str = Field(description="the operation's parameters as a JSON object")


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class _RecordBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[0-9a-f]{32}$", description="hash of normalised content and source")
    source: str = Field(min_length=1)
    origin: str | None = Field(default=None, description="file and line or row the record came from")
    parent_id: str | None = None
    group_id: str = Field(min_length=1, description="records that must never be split apart share one")
    operations: list[Operation] = Field(min_length=1)
    meta: str | None = Field(default=None, description="user columns not mapped to the schema, as JSON")


class ClassificationRecord(_RecordBase):
    kind: Literal["classification"]
    text: str = Field(min_length=1)
    label: str = Field(min_length=1)


class InstructionRecord(_RecordBase):
    kind: Literal["instruction"]
    prompt: str = Field(min_length=1)
    response: str = Field(min_length=1)
    system: str | None = None
    messages: list[Message] | None = None


class CodeRecord(_RecordBase):
    kind: Literal["code"]
    prompt: str = Field(min_length=1)
    code: str = Field(min_length=1)
    language: str = Field(min_length=1)


RECORD_MODELS: dict[str, type[_RecordBase]] = {
    "classification": ClassificationRecord,
    "instruction": InstructionRecord,
    "code": CodeRecord,
}


def normalise_for_id(value: str) -> str:
    """The canonical form a record id hashes: NFKC, case kept, whitespace runs collapsed.

    ``str.split()`` splits on exactly the characters ``\\s`` matches (both are
    Py_UNICODE_ISSPACE), so this is ``re.sub(r"\\s+", " ", v).strip()`` at a third of the cost.
    """
    return " ".join(unicodedata.normalize("NFKC", value).split())


def record_id(kind: str, source: str, record: dict[str, Any]) -> str:
    """Stable id: the same content from the same source always gets the same id."""
    h = hashlib.blake2b(digest_size=16)
    h.update(kind.encode())
    h.update(b"\x1f")
    h.update(source.encode())
    for field in CONTENT_FIELDS[kind]:
        value = record.get(field)
        h.update(b"\x1e")
        if value is not None:
            h.update(normalise_for_id(str(value)).encode("utf-8", "surrogatepass"))
    messages = record.get("messages")
    if messages:
        for m in messages:
            h.update(b"\x1d" + m["role"].encode() + b"\x1f" + normalise_for_id(m["content"]).encode())
    return h.hexdigest()


def group_id_for(source: str, group: str) -> str:
    """The group id shared by all records of one source that carry the same group value."""
    return hashlib.blake2b(f"group\x1f{source}\x1f{group}".encode(), digest_size=16).hexdigest()


def operation(op: str, stage: str, **params: Any) -> dict[str, str]:
    return {"op": op, "stage": stage, "params": json.dumps(params, sort_keys=True, default=str)}


def empty_record(**values: Any) -> dict[str, Any]:
    """A row with every schema column present (null where not given)."""
    row = dict.fromkeys(RECORD_COLUMNS)
    row.update(values)
    return row


def records_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)


def conversation(record: dict[str, Any]) -> tuple[list[dict[str, str]], str]:
    """(messages up to the assistant's turn, the answer to learn) for one record.

    The answer is `response` (instruction) or `code` (code: the prompt asks for the code). Earlier
    turns of a multi-turn record come from `messages`; its last user/assistant pair is the
    record's own prompt/response, which stay authoritative (later stages may have edited them).
    """
    answer = record["code"] if record["kind"] == "code" else record["response"]
    messages = [{"role": "system", "content": record["system"]}] if record.get("system") else []
    history = [m for m in record.get("messages") or [] if m["role"] != "system"]
    last_user = max((i for i, m in enumerate(history) if m["role"] == "user"), default=0)
    messages += [{"role": m["role"], "content": m["content"]} for m in history[:last_user]]
    messages.append({"role": "user", "content": record["prompt"]})
    return messages, answer
