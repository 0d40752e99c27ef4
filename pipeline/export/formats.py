"""Records as the columns other tools train on.

- `messages`: TRL's conversational format, one list of {role, content} per record, ending with the
  assistant's answer (the same conversation the built-in SFT loop renders with the chat template);
  a classification record becomes the text as the user's turn and its label as the answer.
- `prompt_completion`: TRL's standard prompt-completion format, two strings (instruction and code
  records; for code the prompt is the docstring or request and the completion the code).
- `text_label`: `text` and `label` (classification records), what a sequence classifier reads.

Every format keeps `id`, `source`, `group_id` and `parent_id`, so a row can be traced back to the
pipeline's record and its lineage.
"""

from __future__ import annotations

from typing import Any, Literal

import pyarrow as pa

from pipeline.records import conversation

Format = Literal["auto", "messages", "prompt_completion", "text_label"]
KEEP = ("id", "source", "group_id", "parent_id")
ALLOWED = {"classification": ("text_label", "messages"), "instruction": ("messages", "prompt_completion"),
           "code": ("messages", "prompt_completion")}


class FormatError(ValueError):
    pass


def resolve_format(kind: str, fmt: Format) -> str:
    """The format to write: the first allowed one for `kind` on auto; a refusal names the choices."""
    allowed = ALLOWED[kind]
    if fmt == "auto":
        return allowed[0]
    if fmt not in allowed:
        raise FormatError(f"format {fmt!r} does not fit {kind} records: use {' or '.join(allowed)}")
    return fmt


def _row(record: dict[str, Any], fmt: str) -> dict[str, Any]:
    if record["kind"] == "classification":
        if fmt == "text_label":
            return {"text": record["text"], "label": record["label"]}
        return {"messages": [{"role": "user", "content": record["text"]},
                             {"role": "assistant", "content": record["label"]}]}
    messages, answer = conversation(record)
    if fmt == "messages":
        return {"messages": messages + [{"role": "assistant", "content": answer}]}
    # Earlier turns of a multi-turn record stay out of a plain prompt string (`messages` keeps them);
    # a system prompt leads it.
    system = record.get("system")
    return {"prompt": f"{system}\n\n{record['prompt']}" if system else record["prompt"], "completion": answer}


def formatted(table: pa.Table, fmt: str) -> list[dict[str, Any]]:
    """One dict per record: the KEEP columns, then the format's."""
    return [{**{k: r.get(k) for k in KEEP}, **_row(r, fmt)} for r in table.to_pylist()]
