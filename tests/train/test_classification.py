"""Fine-tuning MiniLM end to end on tiny texts: metrics, slices, outputs, methods, seeds, baseline."""

from __future__ import annotations

import json

import pytest

from pipeline.train import TrainConfig, TrainResult, tfidf_baseline, train_and_evaluate
from tests.train.helpers import classification_table, instruction_table

FAST = dict(epochs=2, batch_size=16, max_length=32, learning_rate=2e-4)


@pytest.fixture(scope="module")
def full_run(cls_splits, tmp_path_factory):
    out = tmp_path_factory.mktemp("cls") / "model"
    return train_and_evaluate(*cls_splits, TrainConfig(**FAST), out, data_version="data-v1"), out


def test_metrics_are_present_and_sane(full_run, cls_splits):
    result, _ = full_run
    m = result.metrics
    assert result.task == "classification" and result.model_name == "minilm"
    assert {"accuracy", "macro_f1", "test_loss", "val_loss", "val_macro_f1"} <= set(m)
    assert all(0 <= m[k] <= 1 for k in ("accuracy", "macro_f1", "val_macro_f1"))
    assert m["accuracy"] > 0.5  # one keyword gives the label away: two epochs learn most of it
    assert (result.n_train, result.n_validation, result.n_test) == (60, 18, 18)
    assert result.confusion["labels"] == ["neg", "neutral", "pos"]
    assert sum(map(sum, result.confusion["matrix"])) == result.n_test
    assert set(result.per_class) == {"neg", "neutral", "pos"}
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert all({"train_loss", "val_loss", "val_macro_f1", "seconds", "tokens_per_second"} <= set(h)
               for h in result.history)
    assert result.tokens_per_second > 0 and result.train_seconds > 0


def test_slices_by_source_origin_and_label(full_run, cls_splits):
    result, _ = full_run
    s = result.slices
    assert set(s) == {"source", "origin", "label"}
    assert sum(v["n"] for v in s["source"].values()) == result.n_test
    assert set(s["origin"]) == {"original", "augmented", "human_annotated"}
    assert sum(v["n"] for v in s["label"].values()) == result.n_test
    assert all("accuracy" in v and "n" in v for kind in s.values() for v in kind.values())
    # within one label, accuracy is that label's recall
    for label, v in s["label"].items():
        assert v["accuracy"] == pytest.approx(result.per_class[label]["recall"])


def test_outputs_are_written_and_reloadable(full_run, cls_splits):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    result, out = full_run
    saved = json.loads((out / "training.json").read_text())
    assert saved["data_version"] == "data-v1" and saved["metrics"] == pytest.approx(result.metrics)
    assert saved["config"]["model"] == "minilm" and "torch" in saved["library_versions"] and saved["code_version"]
    assert TrainResult.read(out).n_test == 18
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp folder left behind
    model = AutoModelForSequenceClassification.from_pretrained(out).eval()
    tokenizer = AutoTokenizer.from_pretrained(out)
    test = cls_splits[2]
    with torch.no_grad():
        logits = model(**tokenizer(test.column("text").to_pylist(), padding=True, truncation=True, max_length=32,
                                   return_tensors="pt")).logits
    predicted = [model.config.id2label[i] for i in logits.argmax(-1).tolist()]
    accuracy = sum(p == t for p, t in zip(predicted, test.column("label").to_pylist())) / test.num_rows
    assert accuracy == pytest.approx(result.metrics["accuracy"])


def test_freeze_trains_only_the_top_layers_and_head(cls_splits, tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification

    from pipeline.train.models import model_path

    result = train_and_evaluate(*cls_splits, TrainConfig(**{**FAST, "epochs": 1}, method="freeze", freeze_top_layers=2),
                                tmp_path / "m", data_version="v")
    base = AutoModelForSequenceClassification.from_pretrained(model_path("minilm"), num_labels=3)
    expected = sum(p.numel() for n, p in base.named_parameters()
                   if n.startswith(("bert.encoder.layer.4.", "bert.encoder.layer.5.", "bert.pooler.", "classifier.")))
    assert result.trainable_parameters == expected < result.total_parameters / 4
    tuned = AutoModelForSequenceClassification.from_pretrained(tmp_path / "m")
    frozen = "bert.encoder.layer.0.attention.self.query.weight"
    top = "bert.encoder.layer.5.attention.self.query.weight"
    assert torch.equal(tuned.state_dict()[frozen], base.state_dict()[frozen])
    assert not torch.equal(tuned.state_dict()[top], base.state_dict()[top])


def test_lora_trains_an_adapter_that_reloads(cls_splits, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    from pipeline.train.models import model_path

    result = train_and_evaluate(*cls_splits, TrainConfig(**{**FAST, "epochs": 1, "learning_rate": 1e-3}, method="lora"),
                                tmp_path / "m", data_version="v")
    assert result.trainable_parameters < result.total_parameters / 20
    assert (tmp_path / "m" / "adapter_config.json").exists() and 0 <= result.metrics["accuracy"] <= 1
    base = AutoModelForSequenceClassification.from_pretrained(model_path("minilm"), num_labels=3)
    PeftModel.from_pretrained(base, tmp_path / "m")


@pytest.mark.parametrize("imbalance", ["class_weights", "oversample"])
def test_imbalance_options_run(imbalance, tmp_path):
    train = classification_table(0, seed=3, counts={"pos": 24, "neg": 6, "neutral": 3})
    val, test = classification_table(9, seed=4), classification_table(9, seed=5)
    result = train_and_evaluate(train, val, test, TrainConfig(**{**FAST, "epochs": 1}, imbalance=imbalance),
                                tmp_path / "m", data_version="v")
    assert result.n_train == 33
    assert result.n_train_examples == (72 if imbalance == "oversample" else 33)


def test_the_same_seed_gives_the_same_metrics(cls_splits, tmp_path):
    config = TrainConfig(**{**FAST, "epochs": 1}, seed=7, max_train_records=40)
    a = train_and_evaluate(*cls_splits, config, tmp_path / "a", data_version="v")
    b = train_and_evaluate(*cls_splits, config, tmp_path / "b", data_version="v")
    assert a.metrics == b.metrics and a.confusion == b.confusion
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    assert a.dropped == {"train.over_max_records": 20} and a.n_train == 40


def test_tfidf_baseline_reports_the_same_metric_keys(full_run, cls_splits):
    result, _ = full_run
    baseline = tfidf_baseline(*cls_splits)
    assert set(baseline["metrics"]) == set(result.metrics)
    assert set(baseline) == {"metrics", "per_class", "confusion", "slices", "items"}
    # per test record, as the fine-tuned classifier stores them (test_items.parquet)
    assert baseline["items"]["id"] == cls_splits[2].column("id").to_pylist()
    assert set(baseline["items"]) == {"id", "true", "pred", "loss"}
    assert baseline["confusion"]["labels"] == result.confusion["labels"]
    assert set(baseline["slices"]) == set(result.slices)
    json.dumps(baseline)


def test_mixed_record_kinds_are_refused(cls_splits, tmp_path):
    train, val, test = cls_splits
    with pytest.raises(ValueError, match="one kind"):
        train_and_evaluate(train, val, instruction_table([("q?", "a.")]), TrainConfig(), tmp_path, data_version="v")


def test_a_max_length_beyond_the_model_fails_before_training(cls_splits, tmp_path):
    with pytest.raises(ValueError, match="512 positions"):
        train_and_evaluate(*cls_splits, TrainConfig(max_length=1024), tmp_path / "m", data_version="v")
    assert not (tmp_path / "m").exists()
