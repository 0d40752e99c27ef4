"""Chat-templated SFT examples: the loss sees the answer only, and truncation is accounted for."""

from __future__ import annotations

from pipeline.records import records_to_table
from pipeline.train.batching import IGNORE_INDEX
from pipeline.train.sft_data import conversation, encode, generation_prompts, prompt_ids, sft_examples
from tests.train.helpers import ADD_PROMPT, ADD_SOLUTION, code_record, instruction_table, record


def _split(tokenizer, example):
    prompt = [t for t, label in zip(example["input_ids"], example["labels"]) if label == IGNORE_INDEX]
    answer = [label for label in example["labels"] if label != IGNORE_INDEX]
    return tokenizer.decode(prompt), tokenizer.decode(answer)


def test_masked_tokens_are_exactly_the_templated_prompt(smol_tokenizer):
    rec = record("instruction", prompt="What do bees make?", response="Honey.", system="Answer in one word.")
    messages, answer = conversation(rec)
    example, status = encode(smol_tokenizer, messages, answer, max_length=256)
    assert status == "ok"
    prompt_text = smol_tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    masked, trained = _split(smol_tokenizer, example)
    assert masked == prompt_text
    assert "Answer in one word." in masked and masked.endswith("<|im_start|>assistant\n")
    assert trained == "Honey.<|im_end|>\n"  # the end-of-turn token is learned: the model must learn to stop
    # the mask is a prefix: once the answer starts, nothing is masked again
    first = example["labels"].index(next(label for label in example["labels"] if label != IGNORE_INDEX))
    assert all(label != IGNORE_INDEX for label in example["labels"][first:])


def test_code_records_learn_the_code_and_multi_turn_records_keep_history(smol_tokenizer):
    messages, answer = conversation(code_record())
    assert messages == [{"role": "user", "content": ADD_PROMPT}] and answer == ADD_PROMPT + ADD_SOLUTION
    turns = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
             {"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": "Apple."}]
    rec = record("instruction", prompt="Name a fruit.", response="Apple.", messages=turns)
    messages, answer = conversation(rec)
    assert [m["content"] for m in messages] == ["Hi", "Hello!", "Name a fruit."] and answer == "Apple."
    example, _ = encode(smol_tokenizer, messages, answer, 256)
    masked, trained = _split(smol_tokenizer, example)
    assert "Hello!" in masked and trained == "Apple.<|im_end|>\n"


def test_truncation_keeps_the_prompt_start_and_drops_answerless_examples(smol_tokenizer):
    long_answer = " ".join(["word"] * 200)
    table = records_to_table([
        record("instruction", prompt="Short question?", response="Short answer."),
        record("instruction", prompt="Say many words.", response=long_answer),
        record("instruction", prompt="Repeat: " + " ".join(["x"] * 300), response="No."),
    ])
    n_prompt = len(prompt_ids(smol_tokenizer, conversation(table.to_pylist()[1])[0]))
    examples, dropped, truncated, counts = sft_examples(table, smol_tokenizer, max_length=n_prompt + 10)
    assert [e["row"] for e in examples] == [0, 1]
    assert dict(dropped) == {"response_truncated": 1} and truncated == 1
    # Token accounting: every record's templated length before truncation, what is kept, what is learned.
    tokens = counts.to_json()
    full = [len(smol_tokenizer.apply_chat_template(
        conversation(r)[0] + [{"role": "assistant", "content": conversation(r)[1]}], tokenize=True, return_dict=False))
        for r in table.to_pylist()]
    assert (tokens["records"], tokens["truncated"], tokens["dropped"]) == (3, 1, 1)
    assert tokens["tokens"] == sum(full) and tokens["kept_tokens"] == sum(len(e["input_ids"]) for e in examples)
    assert tokens["loss_tokens"] == sum(label != IGNORE_INDEX for e in examples for label in e["labels"])
    assert tokens["truncated_share"] == 1 / 3 and 0 < tokens["loss_token_share"] < 1
    assert set(tokens["by_source"]) == {table.column("source")[0].as_py()}
    cut = examples[1]
    assert len(cut["input_ids"]) == n_prompt + 10
    assert sum(label != IGNORE_INDEX for label in cut["labels"]) == 10  # what is left of the answer is learned
    # generation prompts keep their end (the assistant header), and say how many were cut
    prompts, n_cut = generation_prompts(table, smol_tokenizer, max_length=64)
    assert n_cut == 1 and len(prompts[2]) == 64
    assert smol_tokenizer.decode(prompts[2]).endswith("<|im_start|>assistant\n")


def test_instruction_table_examples_cover_every_record(smol_tokenizer):
    table = instruction_table([("Q1?", "A1."), ("Q2?", "A2.")])
    examples, dropped, truncated, _ = sft_examples(table, smol_tokenizer, max_length=128)
    assert len(examples) == 2 and not dropped and truncated == 0
