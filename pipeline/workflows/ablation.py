"""Ablation: the same model trained on several data variants, scored on one fixed test split.

A variant is the pipeline's data as it stands after one stage (`after: collect`, `after:
clean`, `after: dedup` ...), so a new stage joins the ablation by configuration.
Every variant is split by the same stable, group-aware assignment; the validation and test
records all variants are scored on come from one variant (the last by default), and each
variant's train split loses any record equal to one of them, so no variant sees its test.

Each variant is trained `seeds` times; each variant after the first also gets a random control
(the previous variant's train split cut at random to its size, whole groups at a time) trained
with the same seeds. `effects` then scores every seed of every arm with one bootstrap over test
items and seeds: per metric a mean with its interval, the stage's paired difference to the
previous variant and to its control, and a verdict (helps, hurts, can't tell at this size).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipeline.engine import run_stage
from pipeline.experiments.config import AblationConfig, TrainTask
from pipeline.experiments.controls import random_control
from pipeline.experiments.effects import Arm, ablation_effects
from pipeline.experiments.leakage import leakage_strata, model_leakage
from pipeline.experiments.tracked import track_model
from pipeline.experiments.training import split_tables, train_variant, without_leaks
from pipeline.fingerprint import code_version
from pipeline.split.stage import SplitStage
from pipeline.steps import cache_dir
from pipeline.tracking.store import open_tracker


class AblationError(ValueError):
    pass


def selected_tasks(tasks: list[TrainTask], names: list[str] | None) -> list[TrainTask]:
    if names is None:
        return tasks
    unknown = sorted(set(names) - {t.name for t in tasks})
    if unknown:
        raise AblationError(f"ablation.tasks names unknown train tasks: {unknown}")
    return [t for t in tasks if t.name in names]


def _split(ctx: Any, source: Any, label: str) -> Any:
    out = run_stage(SplitStage(ctx.config.split), source, ctx.store, ctx.executor,
                    batch_size=ctx.config.run.batch_size, progress=ctx.progress_for(label, source.counts["kept"]))
    return ctx.record(label, out)


def _arms(ablation: AblationConfig, trains: dict[str, pa.Table], cap: int | None,
          seed: int) -> tuple[list[Arm], dict[str, pa.Table]]:
    """The variants in order and, after each but the first, its random control (when asked for
    and the sizes differ); with the train split each arm trains on.

    `cap` (train.max_train_records) cuts the first variant to at most that many records and
    every later one to the same fraction of its own size (a deterministic subset by id hash), so a
    stage that removes a tenth of the records still trains on a tenth fewer: the size effect the
    random control separates from the stage's choice of records is kept.
    """
    from pipeline.train.batching import deterministic_subset

    first = trains[ablation.variants[0].name].num_rows
    fraction = min(1.0, cap / first) if cap and first else 1.0
    capped = {name: deterministic_subset(t, round(t.num_rows * fraction)) for name, t in trains.items()}
    arms, tables, previous = [], {}, None
    for v in ablation.variants:
        arm = Arm(v.name, "variant", previous)
        if ablation.random_control and previous is not None and capped[v.name].num_rows != capped[previous].num_rows:
            arm.control = f"{v.name}~random"
            tables[arm.control] = random_control(capped[previous], capped[v.name].num_rows, seed)
        arms.append(arm)
        tables[v.name] = capped[v.name]
        if arm.control:
            arms.append(Arm(arm.control, "random_control", previous))
        previous = v.name
    return arms, tables


def run_ablation(ctx: Any, ablation: AblationConfig) -> list[dict[str, Any]]:
    """Train every selected task on every variant and control, every seed (`ctx`: the run's
    `pipeline.runner.RunContext`); returns the catalog rows, also recorded with the effects."""
    tasks = selected_tasks(ctx.config.train, ablation.tasks)
    if not tasks:
        raise AblationError("the ablation needs at least one train task (the `train:` section)")
    splits = {}
    for v in ablation.variants:
        if v.after not in ctx.outputs and v.after not in ctx.steps:
            raise AblationError(f"variant {v.name!r}: stage {v.after!r} did not run; ran: {list(ctx.outputs)}")
        splits[v.name] = _split(ctx, ctx.output(v.after), label=f"split:{v.name}")
    eval_name = ablation.eval_variant or ablation.variants[-1].name
    after = {v.name: v.after for v in ablation.variants}
    rows, version, tracker = [], code_version(), open_tracker(ctx.config)
    for task in tasks:
        fixed = split_tables(splits[eval_name], task)
        trains, leaked = {}, {}
        for v in ablation.variants:
            trains[v.name], leaked[v.name] = without_leaks(split_tables(splits[v.name], task)["train"],
                                                           [fixed["validation"], fixed["test"]], task.kind)
        arms, tables = _arms(ablation, trains, task.train.max_train_records, task.train.seed)
        task_rows = []
        cache = cache_dir(ctx.config)  # the embeddings semantic dedup already computed
        for arm in arms:
            strata = None
            if ablation.leakage:  # once per arm: every seed trained on the same records
                strata = dict(zip(fixed["test"].column("id").to_pylist(), leakage_strata(
                    tables[arm.name], fixed["test"], task.kind, cache_dir=cache)))
            variant = arm.name if arm.role == "variant" else arm.previous
            for k in range(ablation.seeds):
                # The arm's table is already cut (`_arms`): training must not cut it again.
                settings = task.train.model_copy(update={"seed": task.train.seed + k, "max_train_records": None})
                seeded = task.model_copy(update={"train": settings})
                row = train_variant(
                    run_id=ctx.run_id, out_dir=ctx.store.out_dir, task=seeded, variant=arm.name,
                    source_stage=ctx.output(after[variant]), split_output=splits[variant],
                    tables={"train": tables[arm.name], "validation": fixed["validation"], "test": fixed["test"]},
                    baseline=ablation.baseline and k == 0 and arm.role == "variant", code_version=version,
                    progress=ctx.progress_under(f"{task.name}/{arm.name}/seed {seeded.train.seed}"),
                )
                row["model_id"] += f":s{seeded.train.seed}"
                row.update(leakage_removed=leaked[variant], role=arm.role,
                           control_of=arm.name.removesuffix("~random") if arm.role == "random_control" else None,
                           leakage=model_leakage(row, strata) if strata is not None else None)
                ctx.catalog.record_model(row)
                if tracker is not None:  # experiments are tracked, never registered
                    row.update(track_model(tracker, row))
                    ctx.catalog.record_model(row)
                task_rows.append(row)
        if ablation.intervals:
            ctx.catalog.record_effects(ctx.run_id, ablation_effects(task_rows, arms, ablation.resamples,
                                                                    ablation.confidence))
        rows.extend(task_rows)
    return rows
