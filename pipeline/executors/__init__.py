"""Where shard tasks run: in this process, in a pool of processes here, or on a Dask cluster.

Stages never import this package; `pipeline.engine` hands their shard tasks to an executor.
Adding an executor is one class implementing `Executor` and one line in `factory.make_executor`.
"""

from pipeline.executors.base import Executor, ExecutorError
from pipeline.executors.factory import make_executor

__all__ = ["Executor", "ExecutorError", "make_executor"]
