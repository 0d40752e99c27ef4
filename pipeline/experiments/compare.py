"""Compare two data versions: which records one has and the other lacks, and why (the stage and
reason that removed them), and how the models trained on them score on the same test split."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.catalog import Catalog


class CompareError(LookupError):
    pass


@dataclass
class TaskComparison:
    task: str
    a: dict[str, Any]
    b: dict[str, Any]
    same_test: bool
    metric_diff: dict[str, tuple[float, float, float]]  # metric -> (a, b, b - a) of the latest model of each
    # metric -> {value, low, high, verdict} of B - A over every seed of both, paired by test item
    # and seed (when both sides were trained with the same >= 2 seeds on the same test split)
    intervals: dict[str, dict[str, Any]] = field(default_factory=dict)
    seeds: int = 1
    removed: int = 0  # in A's train, not in B's
    added: int = 0  # in B's train, not in A's
    removed_by: Counter = field(default_factory=Counter)  # "stage:reason" -> count
    added_by: Counter = field(default_factory=Counter)


def _resolve(catalog: Catalog, ref: str) -> dict[str, dict[str, Any]]:
    """The latest model per task for a data version, model id, run id or variant name."""
    found = catalog.find_models(ref)
    if not found:
        raise CompareError(f"no model in the catalog matches {ref!r} (data version, model id, run id or variant)")
    return {m["task"]: m for m in found}  # later rows win: the latest per task


def _seeds_of(catalog: Catalog, model: dict[str, Any]) -> list[dict[str, Any]]:
    """Every seed's row of the same arm: same run, task, variant and data version."""
    return [m for m in catalog.models(model["run_id"]) if m["task"] == model["task"]
            and m["variant"] == model["variant"] and m["data_version"] == model["data_version"]]


def _intervals(catalog: Catalog, a: dict[str, Any], b: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], int]:
    """B - A with its interval per metric, from every seed of both sides; ({}, seeds) when they
    cannot be paired (other test split, other seeds, fewer than 2 seeds, no per-item outputs)."""
    from pipeline.experiments.effects import Arm, EffectsError, ablation_effects

    rows_a, rows_b = _seeds_of(catalog, a), _seeds_of(catalog, b)
    seeds = sorted(r["seed"] for r in rows_a)
    if len(seeds) < 2 or seeds != sorted(r["seed"] for r in rows_b) or a["test_fingerprint"] != b["test_fingerprint"]:
        return {}, min(len(rows_a), len(rows_b))
    rows = [{**r, "variant": "A"} for r in rows_a] + [{**r, "variant": "B"} for r in rows_b]
    try:
        effects = ablation_effects(rows, [Arm("A", "variant", None), Arm("B", "variant", "A")])
    except EffectsError:
        return {}, len(seeds)
    return {e["metric"]: e["vs_previous"] for e in effects if e["variant"] == "B"}, len(seeds)


def _train_ids(out_dir: Path, version: str) -> set[str]:
    t = pq.read_table(out_dir / "data_versions" / f"{version}.parquet")
    return set(t.filter(pc.equal(t.column("split"), "train")).column("id").to_pylist())


def _split_train_ids(split_path: str) -> set[str]:
    t = pq.read_table(Path(split_path) / "kept", columns=["id", "split"])
    return set(t.filter(pc.equal(t.column("split"), "train")).column("id").to_pylist())


def _unexplained(ids: set[str], model: dict[str, Any]) -> dict[str, str]:
    """Why records no stage rejected are missing from a model's train set."""
    in_split = _split_train_ids(model["split_path"])
    return {i: "size cap (max_train_records)" if i in in_split else "not in train split (other split or leakage filter)"
            for i in ids}


def _rejections(catalog: Catalog, run_id: str, ids: set[str]) -> dict[str, str]:
    """id -> "stage:reason" for the given ids rejected by any stage of the run."""
    found: dict[str, str] = {}
    for st in catalog.stages(run_id):
        t = pq.read_table(Path(st["path"]) / "rejected", columns=["id", "reason"])
        for rid, reason in zip(t.column("id").to_pylist(), t.column("reason").to_pylist()):
            if rid in ids and rid not in found:
                found[rid] = f"{st['stage']}:{reason}"
    return found


def compare(out_dir: str | Path, a_ref: str, b_ref: str) -> list[TaskComparison]:
    from pipeline.catalog import CATALOG_FILE, existing_catalog

    out_dir = Path(out_dir)
    catalog = existing_catalog(out_dir)
    if catalog is None:
        raise CompareError(f"{out_dir} holds no run catalog ({CATALOG_FILE}): pass the run's out_dir as --run-dir")
    a_models, b_models = _resolve(catalog, a_ref), _resolve(catalog, b_ref)
    tasks = [t for t in a_models if t in b_models]
    if not tasks:
        raise CompareError(f"{a_ref!r} and {b_ref!r} share no task: {sorted(a_models)} vs {sorted(b_models)}")
    out = []
    for task in tasks:
        a, b = a_models[task], b_models[task]
        same = a["test_fingerprint"] == b["test_fingerprint"]
        diff = {k: (float(a["metrics"][k]), float(b["metrics"][k]), float(b["metrics"][k]) - float(a["metrics"][k]))
                for k in a["metrics"] if isinstance(a["metrics"][k], (int, float)) and k in b["metrics"]
                and isinstance(b["metrics"][k], (int, float))}
        cmp = TaskComparison(task, a, b, same, diff)
        cmp.intervals, cmp.seeds = _intervals(catalog, a, b)
        a_ids, b_ids = _train_ids(out_dir, a["data_version"]), _train_ids(out_dir, b["data_version"])
        removed, added = a_ids - b_ids, b_ids - a_ids
        cmp.removed, cmp.added = len(removed), len(added)
        why_removed = _rejections(catalog, b["run_id"], removed)
        why_removed |= _unexplained(removed - set(why_removed), b)
        why_added = _rejections(catalog, a["run_id"], added)
        why_added |= _unexplained(added - set(why_added), a)
        cmp.removed_by = Counter(why_removed[i] for i in removed)
        cmp.added_by = Counter(why_added[i] for i in added)
        out.append(cmp)
    return out
