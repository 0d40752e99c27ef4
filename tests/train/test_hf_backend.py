"""The Hugging Face backend (transformers.Trainer, TRL's SFTTrainer) on real weights and tiny data:
the same metrics and outputs as the built-in loop, checkpoints that resume a killed run, and the
two backends within seed noise of each other on the same data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.train import TrainConfig, train_and_evaluate
from pipeline.train.result import TrainResult
from tests.train.helpers import instruction_table

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CLS = {"epochs": 2, "max_length": 32, "batch_size": 8}


def test_classification_with_the_trainer_reports_what_the_builtin_loop_reports(cls_splits, tmp_path):
    train, validation, test = cls_splits
    hf = train_and_evaluate(train, validation, test, TrainConfig(backend="hf", **CLS), tmp_path / "hf",
                            data_version="v1")
    builtin = train_and_evaluate(train, validation, test, TrainConfig(**CLS), tmp_path / "builtin",
                                 data_version="v1")
    assert set(hf.metrics) == set(builtin.metrics) and set(hf.slices) == set(builtin.slices)
    assert [h["epoch"] for h in hf.history] == [1, 2] and {"train_loss", "val_loss", "val_macro_f1"} <= set(hf.history[0])
    assert hf.best_epoch == 2 and hf.tokens_per_second > 0 and hf.n_train == builtin.n_train
    saved = TrainResult.read(tmp_path / "hf")
    assert saved.config["backend"] == "hf" and saved.data_version == "v1"
    assert (tmp_path / "hf" / "test_items.parquet").is_file() and (tmp_path / "hf" / "model.safetensors").is_file()
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "v1" in card and "macro_f1" in card
    assert not (tmp_path / ".checkpoints" / "hf").exists()  # removed once the model is saved


def test_sft_with_trl_trains_only_on_answers_and_lora(tiny_llama_dir, tmp_path):
    pairs = [(f"What is {a} plus {b}?", f"{a + b}") for a in range(6) for b in range(4)]
    table = instruction_table(pairs)
    config = TrainConfig(backend="hf", model=str(tiny_llama_dir), method="lora", epochs=1, batch_size=4,
                         max_length=64, max_new_tokens=4, generation_metric="exact_match")
    result = train_and_evaluate(table, table.slice(0, 6), table.slice(6, 6), config, tmp_path / "sft",
                                data_version="v2")
    assert {"val_loss", "test_loss", "exact_match"} <= set(result.metrics)
    assert (tmp_path / "sft" / "adapter_config.json").is_file()
    assert result.trainable_parameters < result.total_parameters / 2
    assert result.history[0]["val_loss"] == pytest.approx(result.metrics["val_loss"], rel=0.05)


def test_a_killed_run_resumes_from_its_last_epoch_checkpoint(cls_splits, tmp_path):
    """A run killed after its first epoch's checkpoint restarts from there, not from zero."""
    train, validation, test = cls_splits
    tables = tmp_path / "tables"
    tables.mkdir()
    import pyarrow.parquet as pq

    for name, t in zip(("train", "validation", "test"), cls_splits):
        pq.write_table(t, tables / f"{name}.parquet")
    script = (
        "import sys, pyarrow.parquet as pq; from pathlib import Path; from pipeline.train import TrainConfig, "
        "train_and_evaluate; t = [pq.read_table(Path(sys.argv[1]) / f'{n}.parquet') for n in "
        "('train', 'validation', 'test')]; train_and_evaluate(*t, TrainConfig(backend='hf', epochs=3, "
        "max_length=32, batch_size=8), Path(sys.argv[2]), data_version='v3')")
    model_dir = tmp_path / "model"
    checkpoints = tmp_path / ".checkpoints" / "model"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", script, str(tables), str(model_dir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    import time

    deadline = time.monotonic() + 240
    while not list(checkpoints.glob("checkpoint-*/trainer_state.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(checkpoints.glob("checkpoint-*"))
    assert done and not model_dir.exists()
    first = json.loads((done[0] / "trainer_state.json").read_text())["epoch"]
    result = train_and_evaluate(train, validation, test, TrainConfig(backend="hf", epochs=3, max_length=32,
                                                                     batch_size=8), model_dir, data_version="v3")
    assert result.history[0].get("resumed_from") == done[-1].name and first >= 1
    assert [h["epoch"] for h in result.history] == [1, 2, 3]  # the whole run's epochs, from the checkpoint's log


@pytest.mark.parametrize("backend", ["builtin", "hf"])
def test_gradient_checkpointing_trains_the_same_lora_model(tiny_llama_dir, tmp_path, backend):
    """Recomputing activations changes memory, not results: same seed, same validation loss."""
    pairs = [(f"Name a colour number {i}.", ["Red.", "Blue.", "Green."][i % 3]) for i in range(16)]
    table = instruction_table(pairs)
    base = dict(backend=backend, model=str(tiny_llama_dir), method="lora", epochs=1, batch_size=4, max_length=48,
                max_new_tokens=2)
    plain = train_and_evaluate(table, table.slice(0, 4), table.slice(4, 4), TrainConfig(**base), tmp_path / "a",
                               data_version="v")
    checkpointed = train_and_evaluate(table, table.slice(0, 4), table.slice(4, 4),
                                      TrainConfig(**base, gradient_checkpointing=True), tmp_path / "b",
                                      data_version="v")
    assert checkpointed.metrics["val_loss"] == pytest.approx(plain.metrics["val_loss"], rel=1e-4)
