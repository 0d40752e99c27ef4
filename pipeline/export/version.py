"""Which data version to export, and its records with their splits, exactly as training saw them.

A data version is one task's train/validation/test record ids (`data_versions/<version>.parquet`,
written when a model is trained); the records themselves are in the split stage's output the
model was trained from. A random-control arm may hold repeats of a record (`<id>~repeat<n>`),
which are read from their original.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.catalog import CATALOG_FILE, Catalog, existing_catalog
from pipeline.experiments.controls import REPEAT_MARK

SPLITS = ("train", "validation", "test")


class ExportError(LookupError):
    """A user's mistake: a run directory, reference or task that does not exist."""


@dataclass
class DataVersion:
    version: str
    task: str
    kind: str
    model: dict[str, Any]  # the latest model trained on it: run, stage paths, fingerprints
    splits: dict[str, pa.Table]  # split -> records, in the data version's order


def _catalog(run_dir: Path) -> Catalog:
    catalog = existing_catalog(run_dir)
    if catalog is None:
        raise ExportError(f"{run_dir} holds no run catalog ({CATALOG_FILE}): pass a run's out_dir as --run-dir")
    return catalog


def _candidates(catalog: Catalog, ref: str | None) -> list[dict[str, Any]]:
    """Models matching `ref` (data version prefix, model id, run id or variant); without one, the
    models of the latest succeeded run trained on its current data (no ablation arm)."""
    if ref is not None:
        found = catalog.find_models(ref)
        if not found:
            raise ExportError(f"no data version in the catalog matches {ref!r} (data version prefix, model id, "
                              f"run id or variant): `curate inspect` lists the runs")
        return found
    run = catalog.latest_run()
    found = [m for m in catalog.models(run["run_id"]) if m["variant"] == "current"] if run else []
    if not found:
        raise ExportError("the latest run trained no model on its current data, so it has no data version: "
                          "run `curate train`, or name a version with --version")
    return found


def resolve(run_dir: Path, ref: str | None, task: str | None) -> dict[str, Any]:
    """The latest model row of the chosen task for `ref`: it names the data version and its files."""
    found = _candidates(_catalog(run_dir), ref)
    tasks = list(dict.fromkeys(m["task"] for m in found))
    if task is None and len(tasks) > 1:
        raise ExportError(f"{ref or 'the latest run'} has data versions for several tasks ({', '.join(tasks)}): "
                          f"choose one with --task")
    chosen = [m for m in found if m["task"] == (task or tasks[0])]
    if not chosen:
        raise ExportError(f"no task {task!r} for {ref or 'the latest run'}: its tasks are {', '.join(tasks)}")
    return chosen[-1]  # the catalog lists models oldest first


def _original(rid: str) -> str:
    return rid.split(REPEAT_MARK, 1)[0]


def load_version(run_dir: Path, model: dict[str, Any]) -> DataVersion:
    """The records of the model's data version, per split, with the version's own ids."""
    version = model["data_version"]
    ids_file = run_dir / "data_versions" / f"{version}.parquet"
    if not ids_file.is_file():
        raise ExportError(f"data version {version[:12]} has no id list ({ids_file} is missing): retrain to rewrite it")
    ids = pq.read_table(ids_file)
    split_dir = Path(model["split_path"]) / "kept"
    if not split_dir.exists():
        raise ExportError(f"the split output of data version {version[:12]} is gone ({split_dir}): re-run the steps")
    wanted = {_original(i) for i in ids.column("id").to_pylist()}
    records = pq.read_table(split_dir)
    records = records.filter(pc.is_in(records.column("id"), value_set=pa.array(sorted(wanted), pa.string())))
    if "split" in records.column_names:
        records = records.drop_columns(["split"])
    row_of = {rid: n for n, rid in enumerate(records.column("id").to_pylist())}
    splits: dict[str, pa.Table] = {}
    for name in SPLITS:
        version_ids = ids.filter(pc.equal(ids.column("split"), name)).column("id").to_pylist()
        missing = [i for i in version_ids if _original(i) not in row_of]
        if missing:
            raise ExportError(f"data version {version[:12]}: {len(missing)} {name} record(s) missing from "
                              f"{split_dir} (e.g. {missing[0]}): the stage output was changed after training")
        table = records.take(pa.array([row_of[_original(i)] for i in version_ids], pa.int64()))
        splits[name] = table.set_column(table.schema.get_field_index("id"), "id", pa.array(version_ids, pa.string()))
    return DataVersion(version, model["task"], model["kind"], model, splits)
