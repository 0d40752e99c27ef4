"""Run the pipeline's steps in order, recording each stage in the run catalog.

The steps and their stages come from `pipeline.steps.STEPS`; each stage runs through
`pipeline.engine.run_stage` on the run's executor (local or Dask). The local engine
(`run_pipeline`) and the Prefect flow in `flows/` both drive the same functions.
"""

from __future__ import annotations

import fcntl
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from pipeline.catalog import Catalog
from pipeline.config import PipelineConfig
from pipeline.executors import Executor, make_executor
from pipeline.fingerprint import code_version, hash_json
from pipeline.progress import ProgressFactory
from pipeline.stage import Stage
from pipeline.steps import MODEL_STEPS, STEP_NAMES, Step, steps_until
from pipeline.store import StageOutput, StageStore
from pipeline.tracking.store import check_tracking, open_tracker

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    config: PipelineConfig
    run_id: str
    store: StageStore
    catalog: Catalog
    executor: Executor
    progress: ProgressFactory | None = None
    outputs: dict[str, StageOutput] = field(default_factory=dict)  # stage name -> its output
    steps: dict[str, StageOutput] = field(default_factory=dict)  # step name -> its last stage's output
    owns_executor: bool = True  # started for this run (closed with it), not handed in by the caller

    def record(self, name: str, output: StageOutput) -> StageOutput:
        self.outputs[name] = output
        self.catalog.record_stage(self.run_id, len(self.outputs), output, label=name)
        return output

    def output(self, name: str) -> StageOutput:
        """A stage's output by stage or step name (`dedup` is the last dedup level that ran)."""
        return self.outputs[name] if name in self.outputs else self.steps[name]

    def progress_for(self, name: str, total: int | None) -> Callable[[int], None] | None:
        return self.progress(name, total) if self.progress else None

    def progress_under(self, prefix: str) -> ProgressFactory | None:
        """A factory whose bars are named `prefix stage` (e.g. `spam/raw train`)."""
        if self.progress is None:
            return None
        factory = self.progress
        return lambda stage, total: factory(f"{prefix} {stage}", total)


def preflight(config: PipelineConfig) -> None:
    """The user's mistakes that can be seen before a run starts: a source path that matches no
    file, a tracking server or a judge endpoint that does not answer. Raised as their one-line errors."""
    from pipeline.collect.stage import check_sources
    from pipeline.score.scorers import check_endpoints

    check_sources(config.sources)
    check_tracking(config)
    check_endpoints(config)


def start_run(config: PipelineConfig, progress: ProgressFactory | None = None,
              executor: Executor | None = None) -> RunContext:
    # The executor first: a scheduler out of reach fails before the catalog records a run.
    owned = executor is None
    executor = executor or make_executor(config.run.executor, config.run.workers, config.run.dask)
    try:
        check_tracking(config)  # a tracking server out of reach fails here, before the run directory is touched
        out = Path(config.run.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(out)
        config_json = config.model_dump(mode="json")
        run_id = catalog.start_run(config.run.name, config_json, hash_json(config_json), code_version())
    except BaseException:
        if owned:
            executor.close()
        raise
    return RunContext(config, run_id, StageStore(out), catalog, executor, progress, owns_executor=owned)


def run_one_stage(ctx: RunContext, stage: Stage, source: StageOutput | None) -> StageOutput:
    """One stage on the run's executor (or its stored output), recorded in the catalog."""
    from pipeline.engine import run_stage

    total = None if source is None else source.counts["kept"]
    return ctx.record(stage.name, run_stage(stage, source, ctx.store, ctx.executor,
                                            batch_size=ctx.config.run.batch_size,
                                            progress=ctx.progress_for(stage.name, total)))


def run_step(ctx: RunContext, step: Step, source: StageOutput | None) -> StageOutput:
    """Every stage of one step in order; the step's output is its last stage's (or its input's
    when it runs none, as augmentation switched off)."""
    for stage in step.stages(ctx.config):
        source = run_one_stage(ctx, stage, source)
    assert source is not None, f"step {step.name} ran no stage and had no input"
    ctx.steps[step.name] = source
    return source


def run_data_steps(ctx: RunContext, until: str | None = None) -> StageOutput:
    source: StageOutput | None = None
    for step in steps_until(until):
        source = run_step(ctx, step, source)
    assert source is not None
    return source


def step_train(ctx: RunContext, source: StageOutput, split: StageOutput) -> list[dict]:
    """Train every configured task on the current data; each model is recorded in the catalog."""
    from pipeline.experiments.tracked import track_model
    from pipeline.experiments.training import split_tables, train_variant
    from pipeline.train.stage import cap_splits

    from pipeline.config import ConfigError

    rows, version, tracker = [], code_version(), open_tracker(ctx.config)
    for task in ctx.config.train:
        tables = split_tables(split, task)
        if tables["train"].num_rows == 0:
            raise ConfigError(f"train task {task.name!r} has no {task.kind} records in the train split"
                              + (f" of sources {task.sources}" if task.sources else "")
                              + f": every one was rejected or held out (`curate inspect {ctx.store.out_dir}` "
                              "shows the reasons); loosen the filters or check the task's kind and sources")
        row = train_variant(
            run_id=ctx.run_id, out_dir=ctx.store.out_dir, task=task, variant="current", source_stage=source,
            split_output=split, tables=tables, baseline=True, code_version=version,
            progress=ctx.progress_under(task.name),
        )
        ctx.catalog.record_model(row)  # recorded before tracking: a store failing now loses no model
        if tracker is not None:
            capped, _ = cap_splits(tables["train"], tables["validation"], tables["test"], task.train)
            row.update(track_model(tracker, row, register=True, tables=dict(zip(("train", "validation", "test"),
                                                                                 capped))))
            ctx.catalog.record_model(row)
        rows.append(row)
    return rows


def step_ablation(ctx: RunContext) -> list[dict]:
    from pipeline.workflows.ablation import run_ablation

    assert ctx.config.ablation is not None
    return run_ablation(ctx, ctx.config.ablation)


def finish_run(ctx: RunContext, error: BaseException | None = None) -> Path:
    """Close the run in the catalog and write its report; returns the report's path."""
    from pipeline.report import write_report

    if ctx.owns_executor:
        try:
            ctx.executor.close()
        except Exception as exc:  # the run's outcome is recorded whatever the cluster does on the way out
            log.warning("closing the %s executor failed: %s", ctx.executor.name, exc)
    status = "succeeded" if error is None else "failed"
    ctx.catalog.finish_run(ctx.run_id, status, None if error is None else f"{type(error).__name__}: {error}")
    report = write_report(ctx.config.run.out_dir, ctx.run_id)
    tracked = [m["mlflow_run_id"] for m in ctx.catalog.models(ctx.run_id) if m.get("mlflow_run_id")]
    if tracked and error is None:
        from pipeline.tracking.log import log_report

        log_report(open_tracker(ctx.config), tracked, report)
    return report


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
def pipeline_run(config: PipelineConfig, progress: ProgressFactory | None = None,
                 executor: Executor | None = None) -> Iterator[RunContext]:
    """A locked, catalogued run: closed as succeeded, or as failed with the error, and reported."""
    with run_lock(config.run.out_dir):
        ctx = start_run(config, progress, executor)
        try:
            yield ctx
        except BaseException as exc:
            finish_run(ctx, exc)
            raise
        finish_run(ctx)


def run_pipeline(config: PipelineConfig, progress: ProgressFactory | None = None,
                 until: str | None = None, only_ablation: bool = False) -> RunContext:
    """Every configured step in order (or up to `until`), without an orchestrator.

    Training runs when `train` tasks are configured, the ablation when `ablation` is; with
    `only_ablation`, the plain training of the current data is left to the ablation.
    """
    if until is not None and until not in STEP_NAMES:
        raise ValueError(f"unknown step {until!r}; steps: {', '.join(STEP_NAMES)}")
    with pipeline_run(config, progress) as ctx:
        data = run_data_steps(ctx, until)
        if until not in MODEL_STEPS and until is not None:
            return ctx
        if config.train and not only_ablation:
            step_train(ctx, ctx.output("annotate"), data)
        if until != "train" and config.ablation is not None:
            step_ablation(ctx)
    return ctx
