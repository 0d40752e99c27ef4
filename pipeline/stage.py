"""The stage contract, and the runner that drives a batch stage over a stored dataset.

A stage is a class with a typed config and one method, `process_batch`, which turns one Arrow
batch into kept records, rejected records (each with a reason) and counters. It does no I/O
of its own: `run_batch_stage` reads the input in batches, fans them out to worker processes,
and writes the results through the store, which checks that records in = kept + rejected.
"""

from __future__ import annotations

import multiprocessing as mp
from abc import ABC, abstractmethod
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Callable, ClassVar, Iterable, Iterator

import pyarrow as pa
from pydantic import BaseModel

from pipeline.store import BatchResult, StageOutput, StageStore

ProgressFn = Callable[[int], None]


class Stage(ABC):
    """A pure batch transformation. Subclasses set `name`, `version` and `kept_schema`."""

    name: ClassVar[str]
    # Bump when the stage's behaviour changes, so stored outputs of the old code are not reused.
    version: ClassVar[str] = "1"

    def __init__(self, config: BaseModel):
        self.config = config

    def setup(self) -> None:
        """Load heavy state (models, compiled tables) once per process, before the first batch."""

    def kept_schema(self, input_schema: pa.Schema) -> pa.Schema:
        """The schema of the kept records; by default the input's."""
        return input_schema

    @abstractmethod
    def process_batch(self, batch: pa.RecordBatch) -> BatchResult: ...


# Each worker process holds one stage instance, set up once.
_worker_stage: Stage | None = None


def _init_worker(stage: Stage) -> None:
    global _worker_stage
    _worker_stage = stage
    stage.setup()


def _process_in_worker(batch: pa.RecordBatch) -> BatchResult:
    assert _worker_stage is not None
    return _worker_stage.process_batch(batch)


def map_batches(
    stage: Stage, batches: Iterable[pa.RecordBatch], workers: int = 1
) -> Iterator[tuple[int, BatchResult]]:
    """Yield (rows in, result) for each batch, in input order, using `workers` processes."""
    if workers <= 1:
        stage.setup()
        for b in batches:
            yield b.num_rows, stage.process_batch(b)
        return
    # spawn, not fork: the caller may be a threaded Prefect worker, and fork copies held locks.
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(stage,)) as pool:
        pending: deque[tuple[int, Future[BatchResult]]] = deque()
        for b in batches:
            pending.append((b.num_rows, pool.submit(_process_in_worker, b)))
            # Bound the batches in flight so memory stays flat however large the input.
            if len(pending) >= 2 * workers:
                n, fut = pending.popleft()
                yield n, fut.result()
        while pending:
            n, fut = pending.popleft()
            yield n, fut.result()


def run_batch_stage(
    stage: Stage,
    source: StageOutput,
    store: StageStore,
    *,
    workers: int = 1,
    batch_size: int = 2000,
    progress: ProgressFn | None = None,
) -> StageOutput:
    """Run `stage` over the kept records of `source`, or reuse its stored output."""
    import pyarrow.parquet as pq

    input_schema = pq.read_schema(source.kept_path)

    def produce(writer) -> None:
        for n_in, result in map_batches(stage, source.iter_batches(batch_size), workers):
            writer.write(result, n_in)
            if progress:
                progress(n_in)

    return store.run(
        stage.name, stage.version, stage.config, source.fingerprint, stage.kept_schema(input_schema), produce
    )
