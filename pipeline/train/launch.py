"""Train one task on several processes (several GPUs, or hosts) with the hf backend:

    curate split --config cfg.yaml                                   # the data, once
    accelerate launch --multi_gpu --num_processes 4 -m pipeline.train.launch --config cfg.yaml --task chat
    torchrun --nproc_per_node 4 -m pipeline.train.launch --config cfg.yaml --task chat    # the same

Every process reads the run directory's latest split (read-only) and trains with the Trainer,
which shares the batches between the processes (DDP). The first process alone scores the model
on test, saves it, and records it: a catalog run of its own, the model row with its data
version, and MLflow tracking with the champion gate, as `curate train` would. Other processes
only train. On CPU processes (no GPU) `torchrun` runs the same over gloo.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipeline.train.distributed import is_main_process, world_size


def latest_split(catalog: Any) -> Any:
    """The newest stored `split` stage output among the run directory's succeeded runs."""
    import json

    from pipeline.store import StageOutput

    for run in reversed(catalog.runs()):
        if run["status"] != "succeeded":
            continue
        for stage in catalog.stages(run["run_id"]):
            path = Path(stage["path"])
            if stage["stage"] == "split" and (path / "manifest.json").is_file():
                return StageOutput(path, json.loads((path / "manifest.json").read_text()), reused=True)
    return None


def launch(config_path: str, task_name: str) -> dict[str, Any] | None:
    """Train `task_name` on the latest split; the catalog row on the main process, None on the others."""
    from pipeline.catalog import existing_catalog
    from pipeline.config import ConfigError, load_config
    from pipeline.experiments.training import split_tables, train_variant
    from pipeline.fingerprint import code_version, hash_json

    cfg = load_config(config_path)
    tasks = {t.name: t for t in cfg.train}
    if task_name not in tasks:
        raise ConfigError(f"no train task {task_name!r} in {config_path}; tasks: {', '.join(tasks) or 'none'}")
    task = tasks[task_name].model_copy(update={"train": tasks[task_name].train.model_copy(update={"backend": "hf"})})
    catalog = existing_catalog(cfg.run.out_dir)
    split = latest_split(catalog) if catalog else None
    if split is None:
        raise ConfigError(f"{cfg.run.out_dir} holds no split data: run `curate split --config {config_path}` first")
    main = is_main_process()
    run_id = catalog.start_run(f"launch:{task_name}", cfg.model_dump(mode="json"),
                               hash_json(cfg.model_dump(mode="json")), code_version()) if main else "worker"
    try:
        row = train_variant(run_id=run_id, out_dir=Path(cfg.run.out_dir), task=task, variant="current",
                            source_stage=split, split_output=split, tables=split_tables(split, task),
                            baseline=False, code_version=code_version())
        if not main:
            return None
        catalog.record_model(row)
        _track(cfg, row, task, split)
        catalog.record_model(row)
    except BaseException as exc:
        if main:
            catalog.finish_run(run_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    catalog.finish_run(run_id, "succeeded")
    return row


def _track(cfg: Any, row: dict[str, Any], task: Any, split: Any) -> None:
    from pipeline.experiments.tracked import track_model
    from pipeline.experiments.training import split_tables
    from pipeline.tracking.store import open_tracker
    from pipeline.train.stage import cap_splits

    tracker = open_tracker(cfg)
    if tracker is None:
        return
    tables = split_tables(split, task)
    capped, _ = cap_splits(tables["train"], tables["validation"], tables["test"], task.train)
    row.update(track_model(tracker, row, register=True, tables=dict(zip(("train", "validation", "test"), capped))))


def main(argv: list[str] | None = None) -> None:
    import sys

    from pipeline.config import ConfigError
    from pipeline.tracking import TrackingError

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="the pipeline YAML")
    p.add_argument("--task", required=True, help="the train task to train")
    args = p.parse_args(argv)
    try:
        row = launch(args.config, args.task)
    except (ConfigError, TrackingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if row is not None:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in row["metrics"].items() if isinstance(v, (int, float)))
        print(f"{row['task']}: data version {row['data_version'][:12]} on {world_size()} process(es): {metrics}")


if __name__ == "__main__":
    main()
