"""Run the pipeline's stages in order, recording each in the run catalog.

The same step functions serve the local engine (`run_pipeline`) and the Prefect flow in
`flows/`, which wraps each step in a task.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from pipeline.catalog import Catalog
from pipeline.config import PipelineConfig
from pipeline.fingerprint import code_version, hash_json
from pipeline.progress import ProgressFactory
from pipeline.store import StageOutput, StageStore



@dataclass
class RunContext:
    config: PipelineConfig
    run_id: str
    store: StageStore
    catalog: Catalog
    progress: ProgressFactory | None = None
    outputs: dict[str, StageOutput] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # a step's name -> its last stage's (dedup -> dedup_near)

    def record(self, name: str, output: StageOutput) -> StageOutput:
        self.outputs[name] = output
        self.catalog.record_stage(self.run_id, len(self.outputs), output, label=name)
        return output

    def output(self, name: str) -> StageOutput:
        """A stage's output by stage or step name (`dedup` is the last dedup level that ran)."""
        return self.outputs[self.aliases.get(name, name)]

    def progress_for(self, name: str, total: int | None) -> Callable[[int], None] | None:
        return self.progress(name, total) if self.progress else None

    def progress_under(self, prefix: str) -> ProgressFactory | None:
        """A factory whose bars are named `prefix stage` (e.g. `spam/raw train`)."""
        if self.progress is None:
            return None
        factory = self.progress
        return lambda stage, total: factory(f"{prefix} {stage}", total)


def start_run(config: PipelineConfig, progress: ProgressFactory | None = None) -> RunContext:
    out = Path(config.run.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(out)
    config_json = config.model_dump(mode="json")
    run_id = catalog.start_run(config.run.name, config_json, hash_json(config_json), code_version())
    return RunContext(config, run_id, StageStore(out), catalog, progress)


def step_collect(ctx: RunContext) -> StageOutput:
    from pipeline.collect import collect

    out = collect(ctx.config.sources, ctx.config.collect, ctx.store, ctx.progress_for("collect", None))
    return ctx.record("collect", out)


def step_clean(ctx: RunContext, collected: StageOutput) -> StageOutput:
    from pipeline.clean.stage import CleanStage
    from pipeline.stage import run_batch_stage

    out = run_batch_stage(
        CleanStage(ctx.config.clean), collected, ctx.store,
        workers=ctx.config.run.workers, batch_size=ctx.config.run.batch_size,
        progress=ctx.progress_for("clean", collected.counts["kept"]),
    )
    return ctx.record("clean", out)


def step_dedup(ctx: RunContext, source: StageOutput) -> StageOutput:
    """Each enabled dedup level in order (exact, near, semantic); `dedup` names the last output."""
    from pipeline.dedup.config import LEVELS
    from pipeline.dedup.stage import deduplicate, stage_name

    config = ctx.config.dedup
    cache = _cache_dir(ctx) / "embeddings"
    out, last = source, "clean"
    for level in LEVELS:
        if not getattr(config, level).enabled:
            continue
        name = stage_name(level)
        out = ctx.record(name, deduplicate(level, out, config, ctx.store, cache_dir=cache,
                                           progress=ctx.progress_for(name, out.counts["kept"]),
                                           batch_size=ctx.config.run.batch_size))
        last = name
    ctx.aliases["dedup"] = last
    return out


def step_augment(ctx: RunContext, source: StageOutput) -> StageOutput:
    """Each augmenter's stage in order (augment_<name>); `augment` names the last output, or the
    input (the last dedup level) when augmentation is off."""
    last = next((k for k, v in ctx.outputs.items() if v is source), "dedup")
    config = ctx.config.augment
    if config.enabled:
        from pipeline.augment.stage import augment, stage_name

        for spec in config.augmenters:
            name = stage_name(spec)
            source = ctx.record(name, augment(
                source, config, spec, ctx.store, cache_dir=_cache_dir(ctx) / "embeddings",
                progress=ctx.progress_for(name, source.counts["kept"]), batch_size=ctx.config.run.batch_size,
                workers=ctx.config.run.workers))
            last = name
    ctx.aliases["augment"] = last
    return source


def step_annotate(ctx: RunContext, source: StageOutput) -> StageOutput:
    """Pulled annotations applied (stage `annotate`) when enabled and any were pulled; `annotate`
    names the output, or the input when there is nothing to apply."""
    last = next((k for k, v in ctx.outputs.items() if v is source), "augment")
    config = ctx.config.annotate
    if config.enabled:
        from pipeline.annotate.apply import apply_annotations
        from pipeline.annotate.sync import existing_stores

        stores = existing_stores(ctx.config.run.out_dir, config)
        if stores:
            source = ctx.record("annotate", apply_annotations(
                source, stores, ctx.store, config.merge_rule, config.min_annotators, ctx.config.run.batch_size))
            last = "annotate"
    ctx.aliases["annotate"] = last
    return source


def _cache_dir(ctx: RunContext) -> Path:
    return Path(ctx.config.run.cache_dir or Path(ctx.config.run.out_dir) / "cache")


def step_split(ctx: RunContext, source: StageOutput, label: str = "split") -> StageOutput:
    from pipeline.split.stage import split_records

    out = split_records(source, ctx.config.split, ctx.store, ctx.progress_for(label, source.counts["kept"]))
    return ctx.record(label, out)


def step_train(ctx: RunContext, source: StageOutput, split: StageOutput) -> list[dict]:
    """Train every configured task on the current data; each model is recorded in the catalog."""
    from pipeline.experiments.training import split_tables, train_variant

    rows, version = [], code_version()
    for task in ctx.config.train:
        row = train_variant(
            run_id=ctx.run_id, out_dir=ctx.store.out_dir, task=task, variant="current", source_stage=source,
            split_output=split, tables=split_tables(split, task), baseline=True, code_version=version,
            progress=ctx.progress_under(task.name),
        )
        ctx.catalog.record_model(row)
        rows.append(row)
    return rows


def step_ablation(ctx: RunContext) -> list[dict]:
    from pipeline.experiments.ablation import run_ablation

    assert ctx.config.ablation is not None
    return run_ablation(ctx, ctx.config.ablation)


def finish_run(ctx: RunContext, error: BaseException | None = None) -> Path:
    """Close the run in the catalog and write its report; returns the report's path."""
    from pipeline.report import write_report

    status = "succeeded" if error is None else "failed"
    ctx.catalog.finish_run(ctx.run_id, status, None if error is None else f"{type(error).__name__}: {error}")
    return write_report(ctx.config.run.out_dir, ctx.run_id)


@contextmanager
def run_lock(out_dir: str | Path) -> Iterator[None]:
    """One pipeline run per run directory at a time: two writers would race on the catalog."""
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / ".lock", os.O_CREAT | os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another run is using {out_dir}") from None
        yield
    finally:
        os.close(fd)


@contextmanager
def pipeline_run(config: PipelineConfig, progress: ProgressFactory | None = None) -> Iterator[RunContext]:
    """A locked, catalogued run: closed as succeeded, or as failed with the error, and reported."""
    with run_lock(config.run.out_dir):
        ctx = start_run(config, progress)
        try:
            yield ctx
        except BaseException as exc:
            finish_run(ctx, exc)
            raise
        finish_run(ctx)


STEPS = ("collect", "clean", "dedup", "augment", "annotate", "split", "train", "ablation")


def run_pipeline(config: PipelineConfig, progress: ProgressFactory | None = None,
                 until: str | None = None, only_ablation: bool = False) -> RunContext:
    """Every configured step in order (or up to `until`), without an orchestrator.

    Training runs when `train` tasks are configured, the ablation when `ablation` is; with
    `only_ablation`, the plain training of the current data is left to the ablation.
    """
    if until is not None and until not in STEPS:
        raise ValueError(f"unknown step {until!r}; steps: {STEPS}")
    last = STEPS.index(until) if until else len(STEPS) - 1
    with pipeline_run(config, progress) as ctx:
        collected = step_collect(ctx)
        if last < 1:
            return ctx
        cleaned = step_clean(ctx, collected)
        if last < 2:
            return ctx
        deduped = step_dedup(ctx, cleaned)
        if last < 3:
            return ctx
        augmented = step_augment(ctx, deduped)
        if last < 4:
            return ctx
        annotated = step_annotate(ctx, augmented)
        if last < 5:
            return ctx
        split = step_split(ctx, annotated)
        if last >= 6 and config.train and not only_ablation:
            step_train(ctx, annotated, split)
        if last >= 7 and config.ablation is not None:
            step_ablation(ctx)
    return ctx
