"""Drive one stage's passes on an executor: reuse, plan, a part per shard, finish, publish.

    key = (stage, version, resolved config, input fingerprint)  -> stored output reused as is
    plan      on the driver (may fan per-shard work out to the executor)
    shards    on the executor's workers: each writes its own part, atomically
    finish    on the driver: side files; the parts' counts merged into the manifest
    publish   the manifest written last, the folder renamed into place

The accounting invariant (in + generated = kept + rejected) is checked per batch, per part and
for the whole stage.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from pipeline.executors.base import Executor
from pipeline.executors.local import LocalExecutor
from pipeline.parts import AccountingError, PartWriter, Shard, part_name, part_order
from pipeline.stage import Passes, ShardInput, Stage
from pipeline.store import StageOutput, StageStore, build_manifest, config_to_json, now

ProgressFn = Callable[[int], None]
WORK_DIR = ".work"  # the planning pass's scratch files, inside the stage's temporary folder
log = logging.getLogger(__name__)


@dataclass
class ShardJob:
    """What every shard task of one stage shares (sent to each worker once)."""

    stage: Stage
    plan: Any
    out_dir: str
    batch_size: int
    kept_schema: pa.Schema
    n_shards: int = 1


def write_shard(job: ShardJob, shard: Shard) -> list[dict[str, Any]]:
    """One shard task: the stage's shard pass, written as one part (or, past the stage's
    `part_rows`, several: <part>, <part>-0001, ...); returns the parts' counts."""
    job.stage.ensure_setup()
    out_dir, limit = Path(job.out_dir), job.stage.part_rows()
    writer, done = PartWriter(out_dir, shard.part, job.kept_schema), []
    try:
        shard_input = ShardInput(shard, out_dir, job.batch_size, shard.index == job.n_shards - 1)
        for n_in, result in job.stage.process_shard(job.plan, shard_input):
            if limit and writer.n_in and writer.n_in + n_in > limit:
                done.append(writer.close())
                writer = PartWriter(out_dir, f"{shard.part}-{len(done):04d}", job.kept_schema)
            writer.write(result, n_in)
        if shard.files and shard_input.rows_read != shard.rows:
            raise AccountingError(f"{job.stage.name} read {shard_input.rows_read} of the {shard.rows} records of "
                                  f"shard {shard.part}")
    except BaseException as exc:
        writer.abort()
        exc.add_note(f"in stage {job.stage.name}, shard {shard.part} ({', '.join(shard.files) or shard.unit})")
        raise
    return [*done, writer.close()]


def write_shards_in_order(job: ShardJob, shards: list[Shard]) -> list[dict[str, Any]]:
    """The task of a stage that is not parallel: its shards one after another, in one process."""
    return [counts for s in shards for counts in write_shard(job, s)]


def run_stage(stage: Stage, source: StageOutput | None, store: StageStore, executor: Executor | None = None, *,
              batch_size: int = 2000, progress: ProgressFn | None = None) -> StageOutput:
    """Run `stage` over `source` (its stored output reused when inputs and config are unchanged)."""
    executor = executor or LocalExecutor(1)
    config_json = config_to_json(stage.stage_config())
    fingerprint = stage.input_fingerprint(source)
    key = store.stage_key(stage.name, stage.version, config_json, fingerprint)
    found = store.lookup(stage.name, key)
    if found is not None:
        return found
    tmp, started, t0 = store.begin(stage.name, key), now(), time.perf_counter()
    try:
        passes = Passes(lambda fn, items, shared, resources: _ordered(executor, fn, items, shared, stage, resources),
                        batch_size, tmp / WORK_DIR)
        plan = stage.plan(source, passes)
        t_plan = time.perf_counter()
        shards = stage.shards(source, plan) or [Shard(0, part_name(0))]  # an empty input: one empty part
        where = executor.describe()
        log.info("%s: %d shard(s) %s on the %s executor (%s)", stage.name, len(shards),
                 "in parallel" if stage.parallel else "in order, one task", where["name"],
                 ", ".join(f"{k} {v}" for k, v in where.items() if k != "name"))
        job = ShardJob(stage, plan, str(tmp), batch_size,
                       stage.kept_schema(source.kept_schema() if source is not None else None), len(shards))
        parts = _write_parts(executor, job, shards, progress)
        t_shards = time.perf_counter()
        extra = stage.finish(plan, tmp, parts)
        shutil.rmtree(tmp / WORK_DIR, ignore_errors=True)
        manifest = build_manifest(tmp, stage.name, stage.version, key, fingerprint, config_json, parts, extra,
                                  started, time.perf_counter() - t0, executor.describe())
        # Where the time went: the planning pass (the driver, and any per-shard work it fanned
        # out), the shard pass (the workers), the finishing pass (the driver).
        manifest["timings"].update({"plan_s": round(t_plan - t0, 3), "plan_map_s": round(passes.map_s, 3),
                                    "shards_s": round(t_shards - t_plan, 3),
                                    "finish_s": round(time.perf_counter() - t_shards, 3)})
        return store.publish(tmp, stage.name, key, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_parts(executor: Executor, job: ShardJob, shards: list[Shard],
                 progress: ProgressFn | None) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    label = f"{job.stage.name}-shard"
    if job.stage.parallel:
        for _, counts_list in executor.map(write_shard, shards, job, job.stage.resources, label):
            parts += counts_list
            if progress:
                progress(sum(c["in"] for c in counts_list))
    else:
        for _, counts_list in executor.map(write_shards_in_order, [shards], job, job.stage.resources, label):
            parts += counts_list
            if progress:
                progress(sum(c["in"] for c in counts_list))
    return sorted(parts, key=lambda p: part_order(p["name"]))


def _ordered(executor: Executor, fn: Callable, items: list, shared: Any, stage: Stage,
             resources: dict[str, float] | None) -> list:
    out: list[Any] = [None] * len(items)
    for i, result in executor.map(fn, items, shared, resources or stage.resources, f"{stage.name}-plan"):
        out[i] = result
    return out
