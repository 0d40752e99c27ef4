"""The training loop: early stopping restores the best epoch's weights; the schedule and batches behave."""

from __future__ import annotations

import pytest

from pipeline.train.batching import batch_order, collate, deterministic_subset
from pipeline.train.config import TrainConfig
from pipeline.train.loop import train_loop
from tests.train.helpers import classification_table


@pytest.fixture(scope="module")
def tiny_classifier():
    """A 2-layer BERT from a config with MiniLM's tokenizer: real code path, seconds to train."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from pipeline.train.models import model_path

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_path("minilm"))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=3)
    return BertForSequenceClassification(config), tokenizer


def test_early_stopping_restores_the_best_weights(tiny_classifier):
    import torch

    model, tokenizer = tiny_classifier
    table = classification_table(24, seed=0)
    labels = {"neg": 0, "neutral": 1, "pos": 2}
    examples = [{"input_ids": tokenizer(r["text"])["input_ids"], "labels": labels[r["label"]], "row": i}
                for i, r in enumerate(table.to_pylist())]
    scores = iter([0.2, 0.8, 0.5, 0.4, 0.9])  # best at epoch 2, then two worse epochs: stop after epoch 4
    seen = []

    def validate(m):
        seen.append({n: p.detach().clone() for n, p in m.named_parameters()})
        return {"val_loss": 1.0, "val_macro_f1": next(scores)}

    config = TrainConfig(epochs=5, batch_size=8, learning_rate=1e-2, early_stopping_patience=2)
    config = config.resolved("classification")
    out = train_loop(model, examples, tokenizer.pad_token_id, validate, config, torch.device("cpu"),
                     score_key="val_macro_f1", higher_is_better=True, progress=lambda stage, total: lambda n: None)
    assert [h["epoch"] for h in out.history] == [1, 2, 3, 4] and out.best_epoch == 2
    final = dict(model.named_parameters())
    assert all(torch.equal(final[n], seen[1][n]) for n in final)
    assert not all(torch.equal(final[n], seen[3][n]) for n in final)  # the last epoch's weights were replaced
    assert out.train_tokens == 4 * sum(len(e["input_ids"]) for e in examples)


def test_progress_factory_gets_every_optimiser_step(tiny_classifier):
    import torch

    model, tokenizer = tiny_classifier
    examples = [{"input_ids": [101, 2000 + i, 102], "labels": i % 3, "row": i} for i in range(10)]
    calls = []

    def factory(stage, total):
        calls.append((stage, total))
        return lambda n: calls.append(n)

    config = TrainConfig(epochs=2, batch_size=2, grad_accum_steps=2, scheduler="cosine").resolved("classification")
    train_loop(model, examples, 0, lambda m: {"val_loss": 0.0, "val_macro_f1": 0.0}, config, torch.device("cpu"),
               score_key="val_macro_f1", higher_is_better=True, progress=factory)
    assert calls[0] == ("train", 6) and calls[1:] == [1] * 6  # 5 batches -> 3 steps per epoch (last one short)


def test_batches_pad_dynamically_and_shuffle_deterministically():
    batch = collate([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8], "labels": [8]}], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    a = batch_order(10, 3, shuffle=True, seed=1, epoch=1)
    assert a == batch_order(10, 3, shuffle=True, seed=1, epoch=1) != batch_order(10, 3, shuffle=True, seed=1, epoch=2)
    assert sorted(i for b in a for i in b) == list(range(10))


def test_subsets_are_chosen_by_id_hash():
    table = classification_table(30, seed=0)
    small = deterministic_subset(table, 10)
    assert small.num_rows == 10
    assert set(small.column("id").to_pylist()) <= set(deterministic_subset(classification_table(30, seed=0), 20)
                                                          .column("id").to_pylist())
    assert deterministic_subset(table.slice(0, 5), 10).num_rows == 5
