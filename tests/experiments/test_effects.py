"""Effects from stored per-item test outputs: paired differences, and refusals."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.experiments.effects import Arm, EffectsError, ablation_effects
from pipeline.train.stage import TEST_ITEMS_FILE


def model(tmp_path, name: str, seed: int, right: float, test: str = "T", order=None) -> dict:
    rng = np.random.default_rng(seed)
    n = 400
    ids = [f"t{i}" for i in range(n)]
    true = [("spam", "ham", "eggs")[i % 3] for i in range(n)]
    pred = [t if rng.random() < right else "ham" for t in true]
    at = order if order is not None else range(n)
    folder = tmp_path / f"{name}-{seed}"
    folder.mkdir()
    pq.write_table(pa.table({"id": [ids[i] for i in at], "true": [true[i] for i in at], "pred": [pred[i] for i in at],
                             "loss": [0.0] * n}), folder / TEST_ITEMS_FILE)
    return {"task": "t", "variant": name, "seed": seed, "kind": "classification", "model_dir": str(folder),
            "test_fingerprint": test, "n_train": 10, "train_seconds": 1.0, "train_tokens": 100, "config_json": {}}


ARMS = [Arm("raw", "variant", None), Arm("clean", "variant", "raw")]


def test_effects_pair_items_whatever_order_they_were_stored_in(tmp_path):
    shuffled = np.random.default_rng(9).permutation(400)
    rows = [model(tmp_path, "raw", s, 0.5) for s in (0, 1)] + \
           [model(tmp_path, "clean", s, 0.9, order=shuffled) for s in (0, 1)]
    effects = {(e["variant"], e["metric"]): e for e in ablation_effects(rows, ARMS, resamples=500)}
    step = effects[("clean", "accuracy")]["vs_previous"]
    assert step["value"] == pytest.approx(effects[("clean", "accuracy")]["value"] - effects[("raw", "accuracy")]["value"])
    assert step["low"] > 0.2 and step["verdict"] == "helps"
    assert effects[("clean", "accuracy")]["train_seconds"] == 2.0


def test_models_on_other_test_splits_or_seeds_are_refused(tmp_path):
    rows = [model(tmp_path, "raw", 0, 0.5), model(tmp_path, "clean", 0, 0.5, test="other")]
    with pytest.raises(EffectsError, match="different test splits"):
        ablation_effects(rows, ARMS)
    rows = [model(tmp_path, "raw", 1, 0.5), model(tmp_path, "clean", 2, 0.5)]
    with pytest.raises(EffectsError, match="same seeds"):
        ablation_effects(rows, ARMS)
