"""The stage contract every stage implements.

A stage is a class with a typed config and these passes, each optional but the shard pass:

  plan(source, passes)        pass 1, on the driver, over the whole input: whatever decisions
                              need every record (clusters, budgets, merged groups). It may fan
                              per-shard work out through `passes.map` (signatures per shard).
  shards(source, plan)        the units of work: by default one per part of the input.
  process_shard(plan, shard)  pass 2, on a worker: (records in, BatchResult) per batch of one
                              shard; the engine writes them as one part of the output.
  finish(plan, out_dir, parts) pass 3, on the driver: side files (clusters, pairs, indexes) and
                              counters that need every part.

`BatchStage` is the per-batch form: `process_batch` alone, every shard on any worker.

A stage does no I/O on its input or output of its own choosing, never imports an executor or
Prefect, and never learns where it runs: `pipeline.engine.run_stage` drives the passes, an
executor (`pipeline.executors`) places the shard tasks. A stage that must see its shards in
order on one worker (augmentation's budget, the split's tally) sets `parallel = False` and
says why. State that `setup()` builds lives in attributes named with a leading underscore:
they are not shipped to workers, which call `setup()` themselves.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from pipeline.fingerprint import hash_json
from pipeline.parts import BatchResult, Shard

if TYPE_CHECKING:
    from pipeline.store import StageOutput

ShardResults = Iterator[tuple[int, BatchResult]]


@dataclass
class ShardInput:
    """What a shard task reads: its input files in batches; `out_dir` is the stage's folder for side files."""

    shard: Shard
    out_dir: Path
    batch_size: int
    last: bool = True  # the stage's last shard: a stage that is not parallel adds its final counters here
    rows_read: int = 0  # checked against the shard's rows: a stage that stops reading early loses records

    @property
    def part(self) -> str:
        return self.shard.part

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        for f in self.shard.files:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=self.batch_size,
                                                        columns=None if columns is None else list(columns)):
                self.rows_read += batch.num_rows
                yield batch


class Passes:
    """What the planning pass may use: the executor's map over shards, the batch size, and a
    scratch folder every worker sees (`work_dir`, removed before the stage is published)."""

    def __init__(self, map_fn: Callable[..., list], batch_size: int, work_dir: Path):
        self._map = map_fn
        self.batch_size = batch_size
        self.work_dir = work_dir
        self.map_s = 0.0  # wall time spent in map: the plan's share that ran on workers

    def map(self, fn: Callable[[Any, Any], Any], items: Iterable[Any], shared: Any = None,
            resources: dict[str, float] | None = None) -> list[Any]:
        """`fn(shared, item)` for every item, wherever the executor runs it (on workers offering
        `resources`, when the executor knows them); results in item order."""
        t0 = time.perf_counter()
        try:
            return self._map(fn, list(items), shared, resources)
        finally:
            self.map_s += time.perf_counter() - t0


class Stage(ABC):
    """A stage: typed config, declared input, the passes above. Subclasses set `name` and `version`."""

    name: str
    # Bump when the stage's behaviour changes, so stored outputs of the old code are not reused.
    version: ClassVar[str] = "1"
    # The step output this stage reads (None: the first stage, which reads sources).
    input: ClassVar[str | None] = "previous"
    # False: shards run in order in one task (state carried from shard to shard).
    parallel: ClassVar[bool] = True
    # Dask resources a shard task needs (e.g. {"GPU": 1}); ignored by the local executor.
    resources: ClassVar[dict[str, float]] = {}

    def __init__(self, config: BaseModel):
        self.config = config
        self._ready = False

    def stage_config(self) -> Any:
        """What shapes the output (part of the stage's key); by default the whole config."""
        return self.config

    def input_fingerprint(self, source: StageOutput | None) -> str:
        """The input's identity; stages with other inputs (reference sets, models) add theirs."""
        return hash_json({"source": None if source is None else source.fingerprint})

    def kept_schema(self, input_schema: pa.Schema | None) -> pa.Schema:
        """The schema of the kept records; by default the input's."""
        assert input_schema is not None, f"{self.name} has no input: it must name its schema"
        return input_schema

    def part_rows(self) -> int | None:
        """Start a new output part past this many records in (None: one part per shard)."""
        return None

    def setup(self) -> None:
        """Load heavy state (models, compiled tables) once per process, before the first shard."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def plan(self, source: StageOutput | None, passes: Passes) -> Any:
        return None

    def shards(self, source: StageOutput | None, plan: Any) -> list[Shard]:
        return [] if source is None else source.shards()

    @abstractmethod
    def process_shard(self, plan: Any, shard: ShardInput) -> ShardResults: ...

    def finish(self, plan: Any, out_dir: Path, parts: list[dict[str, Any]]) -> dict[str, int]:
        """Side files and whole-output counters, once every part is written."""
        return {}

    def __getstate__(self) -> dict[str, Any]:
        # Shipped to workers without what setup() built; they build it again.
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        state["_ready"] = False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class BatchStage(Stage):
    """The per-batch form: each batch is independent of every other."""

    def process_shard(self, plan: Any, shard: ShardInput) -> ShardResults:
        for batch in shard.batches():
            yield batch.num_rows, self.process_batch(batch)

    @abstractmethod
    def process_batch(self, batch: pa.RecordBatch) -> BatchResult: ...
