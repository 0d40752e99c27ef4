"""The curation flow: validate the config, then run each stage of the step list as a Prefect task.

The flow only orchestrates. The steps and stages are `pipeline.steps.STEPS`, the same the local
runner and the CLI read; each stage's shard tasks run on the run's executor (local or Dask).
The deployment (schedule, work pool) lives in `deploy/`.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack, contextmanager, nullcontext
from typing import Any, Iterator

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.states import Completed, State

from pipeline.config import PipelineConfig
from pipeline.progress import rich_progress
from pipeline.engine import run_stage
from pipeline.executors import Executor
from pipeline.run_config import resolve_run_config
from pipeline.runner import RunContext, pipeline_run, step_ablation, step_train
from pipeline.stage import Stage
from pipeline.steps import STEPS
from pipeline.store import StageOutput, StageStore

# Errors that may not recur on a second try (a flaky disk or network share, a hub timeout).
# ConnectionError and TimeoutError are OSErrors; named for the reader. Bad data and bad
# config (ValueError, ConfigError, SourceError) fail at once: retrying cannot fix them.
TRANSIENT_ERRORS = (OSError, ConnectionError, TimeoutError)
TOP_REASONS = 3


def retry_on_transient_io(_task, _task_run, state) -> bool:
    """Prefect's `retry_condition_fn`: retry only when the task failed on transient I/O."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, TRANSIENT_ERRORS)


# One task per stage, named after it. NO_CACHE and no result persistence: the store already
# reuses a stage's output by its key (stage, version, config, input fingerprint), so Prefect
# must not hash or pickle the inputs again; a reused stage ends in a Completed state named
# "Cached", so the UI shows it as such while the store stays the source of truth.
#
# The task gets the stage, its input and the store, not the run's context: on a Dask worker
# (prefect-dask's DaskTaskRunner) it fans its shards out through the cluster's client, and the
# flow records the result in the catalog.
@task(cache_policy=NO_CACHE, persist_result=False)
def stage_task(stage: Stage, source: StageOutput | None, store: StageStore, batch_size: int,
               executor: Executor | None = None) -> Any:
    if executor is None:  # on a Dask worker: the cluster's client (the worker secedes while it waits)
        from prefect_dask import get_dask_client

        from pipeline.executors.dask import DaskExecutor

        with get_dask_client() as client:
            out = run_stage(stage, source, store, DaskExecutor.from_client(client), batch_size=batch_size)
    else:
        out = run_stage(stage, source, store, executor, batch_size=batch_size)
    if out.reused:
        return Completed(data=out, name="Cached", message=f"reused {out.path.name}")
    return out


def run_stage_task(ctx: RunContext, stage: Stage, source: StageOutput | None, on_dask: bool) -> StageOutput:
    """The stage as a task run named after it; recorded in the run's catalog."""
    task_fn = _stage_task_for(stage)
    args = (stage, source, ctx.store, ctx.config.run.batch_size)
    out = task_fn.submit(*args).result() if on_dask else task_fn(*args, ctx.executor)
    if isinstance(out, State):  # a reused stage's Cached state, returned as it is by a direct call
        out = out.result()
    return _logged(ctx.record(stage.name, out))


def _stage_task_for(stage: Stage):
    # Collection reads the sources (a network share, a hub): transient I/O is retried. The
    # other stages are deterministic, or seeded: a retry would fail the same way.
    if stage.input is None:
        return stage_task.with_options(name=stage.name, retries=2, retry_delay_seconds=[10, 60],
                                       retry_condition_fn=retry_on_transient_io)
    return stage_task.with_options(name=stage.name)


@task(name="train", cache_policy=NO_CACHE, persist_result=False)  # a failed fit is not transient
def train_task(ctx: RunContext, source: StageOutput, split: StageOutput) -> list[dict[str, Any]]:
    return _logged_models(step_train(ctx, source, split))


@task(name="ablation", cache_policy=NO_CACHE, persist_result=False)
def ablation_task(ctx: RunContext) -> list[dict[str, Any]]:
    return _logged_models(step_ablation(ctx))


def _logged_models(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in rows:
        get_run_logger().info("model %s/%s on data %s (train %d): %s", r["task"], r["variant"],
                              r["data_version"][:12], r["n_train"], r["metrics"])
    return rows


def _logged(out: StageOutput) -> StageOutput:
    c = out.counts
    made = f", {c['generated']} generated" if c.get("generated") else ""
    get_run_logger().info("%s: %d in%s, %d kept, %d rejected%s -> %s", out.manifest["stage"], c["in"], made,
                          c["kept"], c["rejected"], " (reused)" if out.reused else "", out.path)
    return out


@flow(name="curation")
def curation_flow(config_path: str | None = None, config: dict[str, Any] | None = None,
                  out_dir: str | None = None, show_progress: bool = False) -> dict[str, Any]:
    cfg = resolve_run_config(config_path, config, out_dir)  # a bad config fails here, before any task
    on_dask = type(FlowRunContext.get().task_runner).__name__ == "DaskTaskRunner"
    bars = rich_progress() if show_progress and not on_dask else nullcontext(None)
    with ExitStack() as stack:
        stack.enter_context(library_logs_in_run())
        executor = None
        if on_dask:  # the flow's own work (the ablation's splits) on the task runner's cluster too
            from pipeline.executors.dask import DaskExecutor

            executor = DaskExecutor.from_client(FlowRunContext.get().task_runner.client)
        progress = stack.enter_context(bars)
        ctx = stack.enter_context(pipeline_run(cfg, progress, executor))
        source: StageOutput | None = None
        for step in STEPS:
            for stage in step.stages(cfg):
                source = run_stage_task(ctx, stage, source, on_dask)
            assert source is not None
            ctx.steps[step.name] = source
        models = train_task(ctx, ctx.output("annotate"), source) if cfg.train else []
        if cfg.ablation is not None:
            models += ablation_task(ctx)
    summary = summarize(ctx, models)
    publish_artifacts(summary)
    return summary


def task_runner_for(cfg: PipelineConfig) -> Any:
    """prefect-dask's DaskTaskRunner on the run's Dask cluster, when the executor is Dask and a
    Prefect API is set (the workers report their task runs there); None: the stage tasks run in
    the flow's process, their shards still on the cluster. Without an API (ephemeral mode) each
    Dask worker would start a Prefect server of its own."""
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    if cfg.run.executor != "dask" or not api:
        return None
    from prefect_dask import DaskTaskRunner

    d = cfg.run.dask
    if d.address:
        return DaskTaskRunner(address=d.address)
    # Every socket, the dashboard's included, on loopback; the workers report to the flow's API.
    return DaskTaskRunner(cluster_kwargs={"n_workers": d.n_workers, "threads_per_worker": d.threads_per_worker,
                                          "processes": True, "host": "127.0.0.1", "dashboard_address": None,
                                          "memory_limit": d.memory_limit, "env": {"PREFECT_API_URL": api}})


def run_curation(cfg: PipelineConfig, show_progress: bool = False, return_state: bool = False) -> Any:
    """The curation flow with the task runner the config's executor calls for."""
    runner = task_runner_for(cfg)
    flow_fn = curation_flow if runner is None else curation_flow.with_options(task_runner=runner)
    return flow_fn(config=cfg.model_dump(mode="json"), show_progress=show_progress, return_state=return_state)


@contextmanager
def library_logs_in_run() -> Iterator[None]:
    """The library's log lines (stage plans, training epochs) and Python warnings in the Prefect
    run's logs, as PREFECT_LOGGING_EXTRA_LOGGERS does, for the length of the flow run."""
    handlers = logging.getLogger("prefect.extra").handlers
    loggers = [logging.getLogger("pipeline"), logging.getLogger("py.warnings")]
    saved = [(lg, lg.level, [h for h in handlers if h not in lg.handlers]) for lg in loggers]
    logging.captureWarnings(True)
    for lg, _, added in saved:
        lg.setLevel(logging.INFO)
        for h in added:
            lg.addHandler(h)
    try:
        yield
    finally:
        for lg, level, added in saved:
            lg.setLevel(level)
            for h in added:
                lg.removeHandler(h)


def summarize(ctx: RunContext, models: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    stages = {
        name: {**{k: out.counts.get(k, 0) for k in ("in", "generated", "kept", "rejected", "rejected_by_reason")},
               "wall_s": out.manifest["timings"]["wall_s"], "reused": out.reused,
               "path": str(out.path), "fingerprint": out.fingerprint}
        for name, out in ctx.outputs.items()
    }
    model_rows = [{k: m[k] for k in ("task", "variant", "data_version", "n_train", "n_test", "metrics", "model_dir")}
                  for m in models or []]
    return {"run_id": ctx.run_id, "out_dir": str(ctx.config.run.out_dir), "stages": stages, "models": model_rows}


def publish_artifacts(summary: dict[str, Any]) -> None:
    rows = []
    for name, s in summary["stages"].items():
        top = sorted(s["rejected_by_reason"].items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]
        rows.append({"stage": name, "in": s["in"], "kept": s["kept"], "rejected": s["rejected"],
                     "top_reject_reasons": ", ".join(f"{r}: {n}" for r, n in top) or "-",
                     "wall_s": s["wall_s"], "reused": s["reused"]})
    create_table_artifact(rows, key="curation-stage-counts",
                          description=f"Records in, kept and rejected per stage, run {summary['run_id']}")
    lines = [f"# Curation run `{summary['run_id']}`", "", f"Run directory: `{summary['out_dir']}`", "",
             "| stage | kept | output |", "|---|---|---|"]
    lines += [f"| {name} | {s['kept']} | `{s['path']}` |" for name, s in summary["stages"].items()]
    create_markdown_artifact("\n".join(lines), key="curation-run-summary",
                             description="Run id and stage output folders")
    if summary.get("models"):
        # Every model metric next to the data version it was measured on.
        metric_rows = [{"task": m["task"], "variant": m["variant"], "data_version": m["data_version"][:12],
                        "n_train": m["n_train"], "n_test": m["n_test"],
                        **{k: round(v, 4) for k, v in m["metrics"].items() if isinstance(v, (int, float))}}
                       for m in summary["models"]]
        create_table_artifact(metric_rows, key="curation-model-metrics",
                              description=f"Test metrics per task and data version, run {summary['run_id']}")
