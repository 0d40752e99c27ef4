"""The local executor: tasks in this process, or in a pool of worker processes on this machine."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Iterator

from pipeline.executors.base import Executor, ShardFn

# Each worker process holds the map's shared payload, received once when it starts.
_shared: Any = None


def _init_worker(shared: Any) -> None:
    global _shared
    _shared = shared


def _call(fn: ShardFn, item: Any) -> Any:
    return fn(_shared, item)


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, workers: int = 1):
        self.workers = max(1, workers)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "workers": self.workers}

    def map(self, fn, items, shared, resources=None, label="task") -> Iterator[tuple[int, Any]]:
        if self.workers <= 1 or len(items) <= 1:
            for i, item in enumerate(items):
                yield i, fn(shared, item)
            return
        # spawn, not fork: the caller may be a threaded Prefect worker, and fork copies held locks.
        ctx = mp.get_context("spawn")
        workers = min(self.workers, len(items))
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(shared,)) as pool:
            todo = list(enumerate(items))
            pending: dict[Future, int] = {}
            try:
                while todo or pending:
                    # Bound the tasks in flight so results never pile up in memory.
                    while todo and len(pending) < 2 * workers:
                        i, item = todo.pop(0)
                        pending[pool.submit(_call, fn, item)] = i
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield pending.pop(fut), fut.result()
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise
