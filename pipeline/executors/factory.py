"""The executor a run's config (or the command line) names: one line per executor."""

from __future__ import annotations

from typing import Any

from pipeline.executors.base import Executor, ExecutorError


def make_executor(name: str = "local", workers: int = 1, dask: Any = None) -> Executor:
    """The executor a run's config (or the command line) names."""
    if name == "local":
        from pipeline.executors.local import LocalExecutor

        return LocalExecutor(workers)
    if name == "dask":
        from pipeline.executors.dask import DaskExecutor
        from pipeline.executors.config import DaskConfig

        return DaskExecutor(dask if dask is not None else DaskConfig())
    raise ExecutorError(f"unknown executor {name!r}; executors: local, dask")
