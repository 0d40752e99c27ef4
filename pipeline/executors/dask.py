"""The Dask executor: tasks on a `distributed` cluster, a running scheduler's or a LocalCluster started here.

Workers read and write the stage folders directly, so the run directory must be on a file
system every worker sees (a shared disk, NFS), as for datatrove's executors. A task whose
worker dies is rerun on another by the scheduler; a task that fails raises here with the
stage and shard named (see `pipeline.engine`).
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

from pipeline.executors.base import Executor, ExecutorError
from pipeline.executors.config import DaskConfig


@contextmanager
def _clean_environment() -> Iterator[None]:
    """Start workers without glibc's fixed trim threshold, and leave this process's environment as it was.

    Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 for its workers; set at all, it turns off
    glibc's dynamic mmap threshold, so every large numpy temporary is a fresh mapping (measured
    here: MinHash signatures of 100k records took 12.6 s instead of 5.5 s on 2 workers). The
    nanny also writes its variables (OMP_NUM_THREADS=1, ...) into the parent's environment,
    where they would slow what this process starts later (training, local pools).
    """
    import dask

    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class DaskExecutor(Executor):
    name = "dask"

    def __init__(self, config: DaskConfig, client: Any = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # a dependency of curate; a broken install says how to mend it
            raise ExecutorError("the dask executor needs `distributed`: pip install 'distributed>=2025'") from exc
        self.config = config
        self.cluster = None
        self._owns_client = client is None
        if client is not None:
            self.client = client
        elif config.address:
            try:
                self.client = Client(config.address, timeout=f"{config.connect_timeout_s}s")
            except (OSError, TimeoutError) as exc:
                raise ExecutorError(
                    f"cannot reach the Dask scheduler at {config.address} within {config.connect_timeout_s:g} s: "
                    "start one with `dask scheduler --host HOST`, or set run.dask.address to its address "
                    "(or leave it empty to start a local cluster)") from exc
            try:  # a scheduler without workers would hold every task forever
                self.client.wait_for_workers(1, timeout=config.connect_timeout_s)
            except (OSError, TimeoutError) as exc:
                self.client.close()
                raise ExecutorError(f"the Dask scheduler at {config.address} has no workers after "
                                    f"{config.connect_timeout_s:g} s: start some with `dask worker "
                                    f"{config.address}`") from exc
        else:
            with _clean_environment():
                # Every socket, the dashboard's included, on loopback: nothing listens outside this machine.
                self.cluster = LocalCluster(n_workers=config.n_workers, threads_per_worker=config.threads_per_worker,
                                            processes=True, host="127.0.0.1", dashboard_address=None,
                                            memory_limit=config.memory_limit)
            try:
                self.client = Client(self.cluster)
            except BaseException:
                self.cluster.close()
                raise

    @classmethod
    def from_client(cls, client: Any) -> "DaskExecutor":
        """Shard tasks on the cluster of an existing client (a Prefect task on a Dask worker: the
        client of `prefect_dask.get_dask_client`); the client stays its owner's to close."""
        return cls(DaskConfig(address=client.scheduler.address), client=client)

    @property
    def address(self) -> str:
        return self.client.scheduler.address

    def describe(self) -> dict[str, Any]:
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        return {"name": self.name, "address": self.address, "workers": len(workers),
                "started_here": self.cluster is not None}

    def map(self, fn, items, shared, resources=None, label="task") -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        if not items:
            return
        self._check_resources(resources)
        tag = uuid.uuid4().hex[:8]
        # The payload goes to each worker once, not once per task.
        payload = self.client.scatter(shared, broadcast=True, hash=False)
        futures = [self.client.submit(fn, payload, item, key=f"{label}-{i:05d}-{tag}", pure=False,
                                      resources=resources or None)
                   for i, item in enumerate(items)]
        index = {f.key: i for i, f in enumerate(futures)}
        results = as_completed(futures, with_results=True)
        # Each result is released on its worker once read: held until the map ends, they would
        # grow the workers' memory with the number of shards.
        pending = {f.key: f for f in futures}
        del futures
        try:
            for fut, result in results:
                pending.pop(fut.key, None)
                i = index[fut.key]
                fut.release()
                yield i, result
        finally:
            if pending:
                self.client.cancel(list(pending.values()))
            self.client.cancel([payload])

    def _check_resources(self, resources: dict[str, float] | None) -> None:
        """Tasks that need resources no worker offers would wait forever: say so instead."""
        if not resources:
            return
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {}).values()
        if not any(all(w.get("resources", {}).get(k, 0) >= v for k, v in resources.items()) for w in workers):
            wanted = " ".join(f"{k}={v:g}" for k, v in resources.items())
            raise ExecutorError(f"no Dask worker at {self.address} offers the resources {wanted}: start one with "
                                f"`dask worker {self.address} --resources \"{wanted}\"`, or drop the requirement")

    def close(self) -> None:
        if not self._owns_client:
            return
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
