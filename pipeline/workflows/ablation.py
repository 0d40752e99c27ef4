"""Ablation: the same model trained on several data variants, scored on one fixed test split.

A variant is the pipeline's data as it stands after one stage (`after: collect`, `after:
clean`, `after: dedup` ...), so a new stage joins the ablation by configuration.
Every variant is split by the same stable, group-aware assignment; the validation and test
records all variants are scored on come from one variant (the last by default), and each
variant's train split loses any record equal to one of them, so no variant sees its test.
"""

from __future__ import annotations

from typing import Any

from pipeline.engine import run_stage
from pipeline.experiments.config import AblationConfig, TrainTask
from pipeline.experiments.training import split_tables, train_variant, without_leaks
from pipeline.fingerprint import code_version
from pipeline.split.stage import SplitStage


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


def run_ablation(ctx: Any, ablation: AblationConfig) -> list[dict[str, Any]]:
    """Train every selected task on every variant (`ctx`: the run's `pipeline.runner.RunContext`);
    returns the catalog rows, also recorded."""
    tasks = selected_tasks(ctx.config.train, ablation.tasks)
    if not tasks:
        raise AblationError("the ablation needs at least one train task (the `train:` section)")
    splits = {}
    for v in ablation.variants:
        if v.after not in ctx.outputs and v.after not in ctx.steps:
            raise AblationError(f"variant {v.name!r}: stage {v.after!r} did not run; ran: {list(ctx.outputs)}")
        splits[v.name] = _split(ctx, ctx.output(v.after), label=f"split:{v.name}")
    eval_name = ablation.eval_variant or ablation.variants[-1].name
    rows, version = [], code_version()
    for task in tasks:
        fixed = split_tables(splits[eval_name], task)
        for v in ablation.variants:
            train, leaked = without_leaks(split_tables(splits[v.name], task)["train"],
                                          [fixed["validation"], fixed["test"]], task.kind)
            row = train_variant(
                run_id=ctx.run_id, out_dir=ctx.store.out_dir, task=task, variant=v.name,
                source_stage=ctx.output(v.after), split_output=splits[v.name],
                tables={"train": train, "validation": fixed["validation"], "test": fixed["test"]},
                baseline=ablation.baseline, code_version=version,
                progress=ctx.progress_under(f"{task.name}/{v.name}"),
            )
            row["leakage_removed"] = leaked
            ctx.catalog.record_model(row)
            rows.append(row)
    return rows
