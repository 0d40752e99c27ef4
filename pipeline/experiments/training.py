"""Train one configured task on one data variant and record the model against its data version.

The data version is the fingerprint of the exact train, validation and test record sets, so
a metric in the catalog always names the data that produced it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.atomic import write_table_atomic
from pipeline.experiments.config import TrainTask
from pipeline.fingerprint import hash_json, ids_fingerprint
from pipeline.records import normalise_for_id
from pipeline.store import StageOutput

SPLITS = ("train", "validation", "test")
# What makes two records "the same example" for leakage: the input and the target.
COMPARED_FIELDS = {"classification": ("text",), "instruction": ("prompt", "response"), "code": ("prompt", "code")}


def task_records(table: pa.Table, task: TrainTask) -> pa.Table:
    """The records of `table` that this task trains or evaluates on."""
    mask = pc.equal(table.column("kind"), task.kind)
    if task.sources:
        mask = pc.and_(mask, pc.is_in(table.column("source"), value_set=pa.array(task.sources)))
    return table.filter(mask)


def split_tables(split_output: StageOutput, task: TrainTask) -> dict[str, pa.Table]:
    table = task_records(split_output.read_kept(), task)
    return {name: table.filter(pc.equal(table.column("split"), name)) for name in SPLITS}


def content_keys(table: pa.Table, kind: str) -> list[str]:
    cols = [table.column(f).to_pylist() for f in COMPARED_FIELDS[kind]]
    return ["\x1f".join(normalise_for_id(v or "").lower() for v in values) for values in zip(*cols)]


def without_leaks(train: pa.Table, held_out: list[pa.Table], kind: str) -> tuple[pa.Table, int]:
    """`train` minus records whose id or content equals a held-out record's; and how many went."""
    ids, keys = set(), set()
    for t in held_out:
        ids.update(t.column("id").to_pylist())
        keys.update(content_keys(t, kind))
    keep = [i not in ids and k not in keys for i, k in zip(train.column("id").to_pylist(), content_keys(train, kind))]
    kept = train.filter(pa.array(keep, type=pa.bool_()))
    return kept, train.num_rows - kept.num_rows


def data_version(tables: dict[str, pa.Table]) -> tuple[str, dict[str, str]]:
    fps = {name: ids_fingerprint(t.column("id").to_pylist()) for name, t in tables.items()}
    return hash_json(fps), fps


def register_data_version(out_dir: Path, version: str, tables: dict[str, pa.Table]) -> Path:
    """Store which record ids make up a data version, so versions can be compared later."""
    path = out_dir / "data_versions" / f"{version}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        ids = [i for t in tables.values() for i in t.column("id").to_pylist()]
        splits = [name for name, t in tables.items() for _ in range(t.num_rows)]
        write_table_atomic(path, pa.table({"id": ids, "split": splits}))
    return path


def train_or_reuse(models: Path, name: str, tables: dict[str, pa.Table], config: Any, version: str,
                   progress: Callable[[str, int | None], Callable[[int], None]] | None = None
                   ) -> tuple[Path, dict[str, Any]]:
    """The model folder and its training record for these tables and config: trained, or read
    back when a folder named by the same data version and config holds one (the same data
    trained the same way is one model, whatever variant or benchmark arm asks for it)."""
    from pipeline.train import train_and_evaluate

    model_dir = models / f"{name}-{version[:12]}-{hash_json(config)[:8]}"
    record = model_dir / "training.json"
    if record.is_file():
        return model_dir, json.loads(record.read_text())
    result = train_and_evaluate(tables["train"], tables["validation"], tables["test"], config, model_dir,
                                data_version=version, progress=progress)
    return model_dir, result.to_json()


def train_variant(
    *,
    run_id: str,
    out_dir: Path,
    task: TrainTask,
    variant: str,
    source_stage: StageOutput,
    split_output: StageOutput,
    tables: dict[str, pa.Table],
    baseline: bool,
    code_version: str,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
) -> dict[str, Any]:
    """Train and evaluate (or reuse the stored model for the same data and config); a catalog row."""
    from pipeline.train import tfidf_baseline
    from pipeline.train.stage import cap_splits

    # Cap first (a deterministic subset by id hash), so the data version names exactly the
    # records the model saw and the baseline is fitted and scored on the very same ones.
    (train, validation, test), _ = cap_splits(tables["train"], tables["validation"], tables["test"], task.train)
    tables = {"train": train, "validation": validation, "test": test}
    version, fps = data_version(tables)
    register_data_version(out_dir, version, tables)
    model_dir, result = train_or_reuse(out_dir / "models", task.name, tables, task.train, version, progress)
    base = None
    if baseline and task.kind == "classification":
        base = tfidf_baseline(tables["train"], tables["validation"], tables["test"])["metrics"]
    return {
        "model_id": f"{run_id}:{task.name}:{variant}",
        "run_id": run_id, "task": task.name, "variant": variant, "kind": task.kind,
        "data_version": version, "train_fingerprint": fps["train"],
        "validation_fingerprint": fps["validation"], "test_fingerprint": fps["test"],
        "source_stage": source_stage.manifest["stage"], "source_path": str(source_stage.path),
        "split_path": str(split_output.path), "model_name": result["model_name"], "model_dir": str(model_dir),
        "n_train": tables["train"].num_rows, "n_validation": tables["validation"].num_rows,
        "n_test": tables["test"].num_rows, "metrics": result["metrics"], "baseline_metrics": base,
        "config_json": task.train.model_dump(mode="json"), "code_version": code_version,
        "tokens": result.get("tokens") or None, "warnings": result.get("warnings") or None,
        "seed": task.train.seed, "train_seconds": float(result.get("train_seconds") or 0.0),
        # non-padding tokens the training loop processed (its rate times its time)
        "train_tokens": int((result.get("tokens_per_second") or 0.0) * (result.get("train_seconds") or 0.0)),
    }


__all__ = ["train_variant", "split_tables", "without_leaks", "data_version", "task_records", "TrainTask"]
