"""Train the benchmark's arms with several seeds and score them on the one clean test set.

Three model families, each trained on every arm: the TF-IDF + logistic-regression baseline
(deterministic: one run), a classifier head on frozen MiniLM embeddings (trained to convergence
in seconds; seeds vary its initial weights and batch order), and MiniLM fine-tuned whole (minutes
per run on a CPU; opt-in).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from pipeline.defects.config import DefectBenchConfig
from pipeline.experiments.effects import Arm, ablation_effects, arm_columns
from pipeline.experiments.stats import METRICS, Bootstrap
from pipeline.experiments.training import data_version, train_or_reuse
from pipeline.fingerprint import ids_fingerprint

Say = Callable[[str], None]
Fit = Callable[[pa.Table, int], dict[str, Any]]  # (train table, seed) -> embedding_head-style results

# What each arm is measured against: the damage of corruption, then what curation gets back.
PREVIOUS = {"clean": None, "corrupted": "clean", "curated": "corrupted", "curated~random": "corrupted",
            "relabelled": "curated", "relabelled~random": "curated"}
# The arms whose recovery of the corruption's damage is reported.
RECOVERING = ("curated", "relabelled")
FAMILIES = {"tfidf": "TF-IDF + logistic regression", "head": "MiniLM embeddings + trained head",
            "finetune": "MiniLM fine-tuned"}


def _row(family: str, name: str, seed: int, table: pa.Table, test: pa.Table, model_dir: Path, seconds: float,
         config: dict[str, Any], tokens: int = 0) -> dict[str, Any]:
    return {"task": f"defects-{family}", "variant": name, "seed": seed, "kind": "classification",
            "model_dir": str(model_dir), "test_fingerprint": ids_fingerprint(test.column("id").to_pylist()),
            "n_train": table.num_rows, "train_seconds": seconds, "train_tokens": tokens, "config_json": config}


def _fitted_rows(family: str, fit: Fit, arms: dict[str, pa.Table], test: pa.Table, seeds: list[int],
                 models: Path, config: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per arm and seed for a model fitted in-process; its test items written beside it."""
    import pyarrow.parquet as pq

    from pipeline.train.stage import TEST_ITEMS_FILE

    rows = []
    for name, table in arms.items():
        for seed in seeds:
            folder = models / f"{family}-{name}-seed{seed}"
            folder.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            result = fit(table, seed)
            seconds = time.perf_counter() - started
            pq.write_table(pa.table(result["items"]), folder / TEST_ITEMS_FILE)
            rows.append(_row(family, name, seed, table, test, folder, seconds, config))
    return rows


def _finetuned_rows(arms: dict[str, pa.Table], validation: pa.Table, test: pa.Table, cfg: DefectBenchConfig,
                    models: Path, say: Say) -> list[dict[str, Any]]:
    rows = []
    for name, table in arms.items():
        for k in range(cfg.seeds):
            config = cfg.train.model_copy(update={"seed": cfg.train.seed + k})
            tables = {"train": table, "validation": validation, "test": test}
            model_dir, result = train_or_reuse(models, name, tables, config, data_version(tables)[0])
            say(f"  {name} seed {config.seed}: {table.num_rows:,} train records, macro-F1 "
                f"{result['metrics']['macro_f1']:.4f} ({result['train_seconds']:.0f} s)")
            rows.append(_row("finetune", name, config.seed, table, test, model_dir, result["train_seconds"],
                             config.model_dump(mode="json"),
                             int(result["tokens_per_second"] * result["train_seconds"])))
    return rows


def scored(rows: list[dict[str, Any]], names: list[str], seeds: int, resamples: int) -> dict[str, Any]:
    """Per arm: macro-F1 with its interval, the paired differences to the arm before it and to its
    random control (`<arm>~random`, where trained); and the share of the corruption's damage
    (clean - corrupted) that the curated arms recover."""
    # A score's arm (score_<name>, its top-k) is compared with the curated records it chose from.
    order = [Arm(n, "random_control" if n.endswith("~random") else "variant", PREVIOUS.get(n, "curated"),
                 f"{n}~random" if f"{n}~random" in names else None) for n in names]
    effects = ablation_effects(rows, order, resamples)
    cols, _ = arm_columns(rows, order)
    boot = Bootstrap(len(cols["clean"][0]["true"]), seeds, resamples)  # the resamples effects drew (seed 0)
    recovered = {arm: boot.recovered(METRICS["macro_f1"], cols[arm], cols["corrupted"], cols["clean"]).to_json()
                 for arm in RECOVERING if arm in cols}
    runs = [{k: r[k] for k in ("variant", "seed", "n_train", "train_seconds", "model_dir")} for r in rows]
    return {"effects": effects, "recovered": recovered, "seeds": seeds, "runs": runs}


def train_families(arms: dict[str, pa.Table], validation: pa.Table, test: pa.Table, cfg: DefectBenchConfig,
                   models: Path, families: list[str], say: Say) -> dict[str, Any]:
    """family -> its scored arms, for each of `families` (a subset of cfg.models)."""
    from pipeline.train import tfidf_baseline
    from pipeline.train.head import cached_encoder, embedding_head, minilm_encoder

    out: dict[str, Any] = {}
    names = list(arms)
    if "tfidf" in families:
        rows = _fitted_rows("tfidf", lambda t, s: tfidf_baseline(t, validation, test, seed=s), arms, test, [0],
                            models, {})
        out["tfidf"] = scored(rows, names, 1, cfg.resamples)
    if "head" in families:
        encode = cached_encoder(minilm_encoder())
        # Encoded once, before any run is timed: the runs' seconds are the head's training alone.
        started = time.perf_counter()
        texts = [t for table in (*arms.values(), validation, test) for t in table.column("text").to_pylist()]
        encode(texts)
        say(f"  head: {len(set(texts)):,} texts encoded by MiniLM in {time.perf_counter() - started:.0f} s")
        seeds = [cfg.train.seed + k for k in range(cfg.seeds)]
        settings = {"hidden": cfg.head_hidden, "max_iter": cfg.head_iterations}
        rows = _fitted_rows("head", lambda t, s: embedding_head(t, validation, test, encode, seed=s, **settings),
                            arms, test, seeds, models, settings)
        say(f"  head: {len(rows)} runs trained in {sum(r['train_seconds'] for r in rows):.0f} s")
        out["head"] = scored(rows, names, cfg.seeds, cfg.resamples)
    if "finetune" in families:
        out["finetune"] = scored(_finetuned_rows(arms, validation, test, cfg, models, say), names, cfg.seeds,
                                 cfg.resamples)
    return out
