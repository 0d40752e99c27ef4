"""Train the benchmark's arms with several seeds and score them on the one clean test set."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from pipeline.defects.config import DefectBenchConfig
from pipeline.experiments.effects import Arm, ablation_effects, arm_columns
from pipeline.experiments.stats import METRICS, Bootstrap
from pipeline.experiments.training import data_version, train_or_reuse
from pipeline.fingerprint import ids_fingerprint

# What each arm is measured against: the damage of corruption, then what curation gets back.
_PREVIOUS = {"clean": None, "corrupted": "clean", "curated": "corrupted", "curated~random": "corrupted",
             "curated_reviewed": "curated", "curated_reviewed~random": "curated"}


def _train_one(name: str, train: pa.Table, validation: pa.Table, test: pa.Table, cfg: DefectBenchConfig,
               seed: int, models: Path) -> dict[str, Any]:
    config = cfg.train.model_copy(update={"seed": seed})
    tables = {"train": train, "validation": validation, "test": test}
    model_dir, result = train_or_reuse(models, name, tables, config, data_version(tables)[0])
    return {"task": "defects", "variant": name, "seed": seed, "kind": "classification", "model_dir": str(model_dir),
            "test_fingerprint": ids_fingerprint(test.column("id").to_pylist()), "n_train": train.num_rows,
            "train_seconds": result["train_seconds"],
            "train_tokens": int(result["tokens_per_second"] * result["train_seconds"]),
            "config_json": config.model_dump(mode="json"), "metrics": result["metrics"]}


def baseline_arms(arms: dict[str, pa.Table], validation: pa.Table, test: pa.Table, cfg: DefectBenchConfig,
                  models: Path) -> dict[str, Any]:
    """The same arms with the TF-IDF + logistic-regression baseline: deterministic (one "seed"),
    fitted to convergence in seconds, so the data's effect is not hidden by an undertrained model.
    Intervals are over test items only."""
    import pyarrow.parquet as pq

    from pipeline.train import tfidf_baseline
    from pipeline.train.stage import TEST_ITEMS_FILE

    rows = []
    for name, table in arms.items():
        folder = models / f"tfidf-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        result = tfidf_baseline(table, validation, test)
        pq.write_table(pa.table(result["items"]), folder / TEST_ITEMS_FILE)
        rows.append({"task": "defects-tfidf", "variant": name, "seed": 0, "kind": "classification",
                     "model_dir": str(folder), "test_fingerprint": ids_fingerprint(test.column("id").to_pylist()),
                     "n_train": table.num_rows, "train_seconds": 0.0, "train_tokens": 0, "config_json": {}})
    return _scored(rows, list(arms), 1, cfg.resamples)


def _scored(rows: list[dict[str, Any]], names: list[str], seeds: int, resamples: int) -> dict[str, Any]:
    # An arm whose random control was trained (`<arm>~random`: the arm before it cut at random to
    # its size) is measured against it too.
    order = [Arm(n, "random_control" if n.endswith("~random") else "variant", _PREVIOUS[n],
                 f"{n}~random" if f"{n}~random" in names else None) for n in names]
    effects = ablation_effects(rows, order, resamples)
    cols, _ = arm_columns(rows, order)
    boot = Bootstrap(len(cols["clean"][0]["true"]), seeds, resamples)  # the resamples effects drew (seed 0)
    recovered = {arm: boot.recovered(METRICS["macro_f1"], cols[arm], cols["corrupted"], cols["clean"]).to_json()
                 for arm in ("curated", "curated_reviewed") if arm in cols}
    return {"effects": effects, "recovered": recovered}


def train_arms(arms: dict[str, pa.Table], validation: pa.Table, test: pa.Table, cfg: DefectBenchConfig,
               models: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Per arm: macro-F1 with its interval and the paired difference to the arm before it; and
    the share of the corruption's damage that curation recovers."""
    rows = []
    for name, table in arms.items():
        for k in range(cfg.seeds):
            row = _train_one(name, table, validation, test, cfg, cfg.train.seed + k, models)
            say(f"  {name} seed {row['seed']}: {table.num_rows:,} train records, macro-F1 "
                f"{row['metrics']['macro_f1']:.4f} ({row['train_seconds']:.0f} s)")
            rows.append(row)
    return {"arms": {n: t.num_rows for n, t in arms.items()}, **_scored(rows, list(arms), cfg.seeds, cfg.resamples),
            "runs": [{k: r[k] for k in ("variant", "seed", "n_train", "train_seconds", "model_dir")} for r in rows]}
