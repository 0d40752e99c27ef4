"""TrainConfig validation, per-task defaults, and the light import of pipeline.train."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from pipeline.train import TrainConfig, TrainResult


def test_unknown_keys_and_out_of_range_values_fail():
    with pytest.raises(ValidationError):
        TrainConfig(epoch=3)  # typo of epochs
    for bad in ({"learning_rate": 0}, {"warmup_ratio": 1.5}, {"batch_size": 0}, {"lora_dropout": 1.0},
                {"method": "qlora"}, {"scheduler": "step"}, {"early_stopping_patience": 0}):
        with pytest.raises(ValidationError):
            TrainConfig(**bad)
    with pytest.raises(ValidationError, match="lora_target_modules"):
        TrainConfig(lora_target_modules=["query"])  # method is full


def test_resolved_fills_per_task_defaults():
    cls = TrainConfig().resolved("classification")
    assert (cls.model, cls.learning_rate, cls.eval_batch_size) == ("minilm", 5e-5, 32)
    sft = TrainConfig(method="lora", batch_size=4).resolved("sft")
    assert (sft.model, sft.learning_rate, sft.eval_batch_size) == ("smollm2", 5e-4, 8)
    assert TrainConfig(model="/models/x", learning_rate=1e-3).resolved("sft").model == "/models/x"
    with pytest.raises(ValueError, match="classification"):
        TrainConfig(imbalance="oversample").resolved("sft")


def test_result_is_json_able():
    import json

    result = TrainResult(task="sft", model_name="m", model_dir="d", data_version="v",
                         metrics={"perplexity": float("inf"), "val_loss": 1.5})
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert data["metrics"] == {"perplexity": None, "val_loss": 1.5}


def test_importing_the_package_loads_no_heavy_framework():
    code = ("import sys, pipeline, pipeline.config, pipeline.cli, pipeline.train; "
            "from pipeline.train import TrainConfig, TrainResult; "
            "print(','.join(m for m in ('torch', 'transformers', 'peft', 'sklearn') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
