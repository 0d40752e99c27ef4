"""Instruction and code records to chat-templated token ids with the loss on the answer only.

The prompt part is what the template renders for the conversation up to the assistant's
turn with `add_generation_prompt=True`; its tokens get label -100 (IGNORE_INDEX), so the model
learns to answer, not to echo questions. The boundary is checked, never assumed: the prompt's
tokens must be a prefix of the whole conversation's tokens.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from pipeline.records import conversation
from pipeline.train.batching import IGNORE_INDEX

__all__ = ["conversation", "encode", "encode_counted", "prompt_ids", "sft_examples", "generation_prompts",
           "TokenCounts"]


def prompt_ids(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    return list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False))


def encode(tokenizer: Any, messages: list[dict[str, str]], answer: str, max_length: int) -> tuple[dict | None, str]:
    """({input_ids, labels} or None, status): status is ok, truncated or the reason for a drop."""
    return encode_counted(tokenizer, messages, answer, max_length)[:2]


def encode_counted(tokenizer: Any, messages: list[dict[str, str]], answer: str, max_length: int
                   ) -> tuple[dict | None, str, int]:
    """`encode`, and the templated conversation's length in tokens before truncation."""
    prompt = prompt_ids(tokenizer, messages)
    full = list(tokenizer.apply_chat_template(
        messages + [{"role": "assistant", "content": answer}], tokenize=True, return_dict=False
    ))
    n = len(full)
    if full[:len(prompt)] != prompt or len(full) == len(prompt):
        return None, "template_mismatch", n  # the template renders the prompt differently with an answer
    if len(prompt) >= max_length:
        return None, "response_truncated", n  # nothing of the answer would be left to learn from
    status = "truncated" if len(full) > max_length else "ok"
    full = full[:max_length]  # keep the start: the question, and the beginning of the answer
    labels = [IGNORE_INDEX] * len(prompt) + full[len(prompt):]
    return {"input_ids": full, "labels": labels}, status, n


class TokenCounts:
    """Token accounting of one split under the model's tokenizer and chat template, overall and
    per source: records, their templated tokens before truncation, the tokens kept after it, the
    kept tokens that carry loss (the answer's), records cut to max_length and records dropped."""

    _KEYS = ("records", "tokens", "kept_tokens", "loss_tokens", "truncated", "dropped")

    def __init__(self) -> None:
        self.by_source: dict[str, Counter] = {}

    def add(self, source: str, full: int, kept: int, loss: int, status: str) -> None:
        c = self.by_source.setdefault(source or "", Counter())
        c.update(records=1, tokens=full, kept_tokens=kept, loss_tokens=loss,
                 truncated=int(status == "truncated"), dropped=int(status not in ("ok", "truncated")))

    @staticmethod
    def _summary(c: Counter) -> dict[str, Any]:
        records = c["records"]
        return {**{k: int(c[k]) for k in TokenCounts._KEYS},
                "tokens_per_record": c["tokens"] / records if records else None,
                "truncated_share": c["truncated"] / records if records else None,
                "loss_token_share": c["loss_tokens"] / c["kept_tokens"] if c["kept_tokens"] else None}

    def to_json(self) -> dict[str, Any]:
        total: Counter = Counter()
        for c in self.by_source.values():
            total.update(c)
        return {**self._summary(total), "by_source": {s: self._summary(c) for s, c in sorted(self.by_source.items())}}


def sft_examples(table: pa.Table, tokenizer: Any, max_length: int
                 ) -> tuple[list[dict[str, Any]], Counter, int, TokenCounts]:
    """(examples, drops by reason, number kept but truncated, token accounting); `row` indexes the table."""
    examples, dropped, truncated, counts = [], Counter(), 0, TokenCounts()
    for row, record in enumerate(table.to_pylist()):
        messages, answer = conversation(record)
        example, status, full = encode_counted(tokenizer, messages, answer, max_length)
        kept = len(example["input_ids"]) if example else 0
        loss = sum(1 for t in example["labels"] if t != IGNORE_INDEX) if example else 0
        counts.add(record.get("source"), full, kept, loss, status)
        if example is None:
            dropped[status] += 1
            continue
        truncated += status == "truncated"
        examples.append({**example, "row": row})
    return examples, dropped, truncated, counts


def generation_prompts(table: pa.Table, tokenizer: Any, max_length: int) -> tuple[list[list[int]], int]:
    """Prompt ids to generate from, one per record, and how many were cut to `max_length`.

    A long prompt keeps its end: the assistant header the answer must follow is there.
    """
    prompts, cut = [], 0
    for record in table.to_pylist():
        ids = prompt_ids(tokenizer, conversation(record)[0])
        cut += len(ids) > max_length
        prompts.append(ids[-max_length:])
    return prompts, cut
