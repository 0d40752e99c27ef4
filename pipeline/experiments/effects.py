"""An ablation's effects: each variant's test metrics with intervals, and each stage's paired
difference to the variant before it and to its size-matched random control, with a verdict.

Reads what training stored per test item (`test_items.parquet` in each model folder) for every
seed of every arm of one task, and scores them all with one `Bootstrap`, so every difference is
paired by test item and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.experiments.stats import METRICS, Bootstrap, Columns, verdict


class EffectsError(ValueError):
    pass


@dataclass
class Arm:
    """What was trained, with every seed: a variant, or the random control of one."""

    name: str
    role: str  # "variant" or "random_control"
    previous: str | None  # the variant before this one (what the stage is measured against)
    control: str | None = None  # a variant's random control arm, when one was trained


def read_items(model_dir: str) -> dict[str, list]:
    import pyarrow.parquet as pq

    from pipeline.train.stage import TEST_ITEMS_FILE

    path = Path(model_dir) / TEST_ITEMS_FILE
    if not path.is_file():
        raise EffectsError(f"{path} is missing: the model was trained before per-item test outputs were "
                           "stored; remove its folder to retrain it")
    return pq.read_table(path).to_pydict()


def metrics_for(kind: str, config: dict[str, Any], columns: list[Columns]) -> list[str]:
    """The metrics a task's per-item columns support (code pass rate only where code was tested)."""
    if kind == "classification":
        return ["macro_f1", "accuracy"]
    names = ["test_perplexity", config.get("generation_metric", "rouge_l")]
    if any((~np.isnan(c["code_passed"])).any() for c in columns):
        names.append("code_pass_rate")
    return names


def item_columns(items: dict[str, list], order: dict[str, int], labels: dict[str, int]) -> Columns:
    """One model's items as arrays in the shared test order (labels numbered across all arms)."""
    if len(set(items["id"])) != len(items["id"]) or len(items["id"]) != len(order):
        raise EffectsError(f"the test items must be {len(order)} distinct records, one row each; got "
                           f"{len(items['id'])} rows of {len(set(items['id']))} ids")
    at = np.array([order[i] for i in items["id"]])
    out: Columns = {}
    for name, values in items.items():
        if name == "id":
            continue
        array = np.array([labels[v] for v in values]) if name in ("true", "pred") else np.array(values, float)
        ordered = np.empty_like(array)
        ordered[at] = array
        out[name] = ordered
    return out


def _check_same_test(rows: list[dict[str, Any]]) -> None:
    tests = {r["test_fingerprint"] for r in rows}
    if len(tests) > 1:
        raise EffectsError(f"the ablation's models were scored on {len(tests)} different test splits; effects "
                           "compare models on one fixed test split only")


def _by_arm(rows: list[dict[str, Any]], arms: list[Arm]) -> dict[str, list[dict[str, Any]]]:
    out = {a.name: sorted((r for r in rows if r["variant"] == a.name), key=lambda r: r["seed"]) for a in arms}
    seeds = {a: [r["seed"] for r in rs] for a, rs in out.items()}
    if len({tuple(s) for s in seeds.values()}) != 1 or not next(iter(seeds.values())):
        raise EffectsError(f"every arm needs the same seeds: {seeds}")
    return out


def arm_columns(rows: list[dict[str, Any]], arms: list[Arm]) -> tuple[dict[str, list[Columns]], dict[str, list]]:
    """Every seed's per-item columns of every arm, in one test order with labels numbered across
    all arms (what one `Bootstrap` scores); and each arm's rows by seed."""
    _check_same_test(rows)
    by_arm = _by_arm(rows, arms)
    items = {a: [read_items(r["model_dir"]) for r in rs] for a, rs in by_arm.items()}
    first = next(iter(items.values()))[0]
    order = {rid: i for i, rid in enumerate(first["id"])}
    for name, seeds in items.items():
        if any(set(it["id"]) != set(order) for it in seeds):
            raise EffectsError(f"arm {name!r} was scored on other test items than {arms[0].name!r}")
    labels = {v: i for i, v in enumerate(sorted({v for seeds in items.values() for it in seeds
                                                 for k in ("true", "pred") if k in it for v in it[k]}))}
    return {a: [item_columns(it, order, labels) for it in seeds] for a, seeds in items.items()}, by_arm


def ablation_effects(rows: list[dict[str, Any]], arms: list[Arm], resamples: int = 1000,
                     confidence: float = 0.95) -> list[dict[str, Any]]:
    """One effects row per arm and metric (the catalog's `effects` table, without run_id)."""
    cols, by_arm = arm_columns(rows, arms)
    some = rows[0]
    first = cols[arms[0].name]
    boot = Bootstrap(len(next(iter(first[0].values()))), len(first), resamples, confidence)
    out = []
    for metric_name in metrics_for(some["kind"], some.get("config_json") or {}, first):
        metric = METRICS[metric_name]
        for arm in arms:
            estimate = boot.estimate(metric, cols[arm.name])

            def against(other: str | None) -> dict[str, Any] | None:
                if other is None:
                    return None
                diff = boot.difference(metric, cols[arm.name], cols[other])
                return {"other": other, **diff.to_json(), "verdict": verdict(diff, metric.higher_is_better)}

            runs = by_arm[arm.name]
            out.append({
                "task": some["task"], "variant": arm.name, "metric": metric_name, "role": arm.role,
                "n_seeds": len(runs), "n_train": runs[0]["n_train"], **estimate.to_json(),
                "vs_previous": against(arm.previous), "vs_control": against(arm.control),
                "train_seconds": float(sum(r.get("train_seconds") or 0.0 for r in runs)),
                "train_tokens": int(sum(r.get("train_tokens") or 0 for r in runs)), "confidence": confidence,
            })
    return out


def describe(effect: dict[str, Any]) -> dict[str, str]:
    """An effects row as text: the estimate with its interval, and each difference with its verdict."""

    def diff(d: dict[str, Any] | None) -> str:
        if not d:
            return ""
        return f"{d['value']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}] vs {d['other']}: {d['verdict']}"

    value = "n/a" if effect["value"] is None else f"{effect['value']:.4f} [{effect['low']:.4f}, {effect['high']:.4f}]"
    return {"value": value, "vs_previous": diff(effect["vs_previous"]), "vs_control": diff(effect["vs_control"]),
            "cost": f"{effect['train_seconds']:.0f} s, {effect['train_tokens']:,} tokens"}
