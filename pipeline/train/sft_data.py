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

from pipeline.train.batching import IGNORE_INDEX


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


def prompt_ids(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    return list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False))


def encode(tokenizer: Any, messages: list[dict[str, str]], answer: str, max_length: int) -> tuple[dict | None, str]:
    """({input_ids, labels} or None, status): status is ok, truncated or the reason for a drop."""
    prompt = prompt_ids(tokenizer, messages)
    full = list(tokenizer.apply_chat_template(
        messages + [{"role": "assistant", "content": answer}], tokenize=True, return_dict=False
    ))
    if full[:len(prompt)] != prompt or len(full) == len(prompt):
        return None, "template_mismatch"  # the template renders the prompt differently with an answer
    if len(prompt) >= max_length:
        return None, "response_truncated"  # nothing of the answer would be left to learn from
    status = "truncated" if len(full) > max_length else "ok"
    full = full[:max_length]  # keep the start: the question, and the beginning of the answer
    labels = [IGNORE_INDEX] * len(prompt) + full[len(prompt):]
    return {"input_ids": full, "labels": labels}, status


def sft_examples(table: pa.Table, tokenizer: Any, max_length: int) -> tuple[list[dict[str, Any]], Counter, int]:
    """(examples, drops by reason, number kept but truncated); `row` indexes the table."""
    examples, dropped, truncated = [], Counter(), 0
    for row, record in enumerate(table.to_pylist()):
        messages, answer = conversation(record)
        example, status = encode(tokenizer, messages, answer, max_length)
        if example is None:
            dropped[status] += 1
            continue
        truncated += status == "truncated"
        examples.append({**example, "row": row})
    return examples, dropped, truncated


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
