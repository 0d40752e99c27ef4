"""The executor's settings (`run.executor`, `run.dask`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.config_base import Strict


class DaskConfig(Strict):
    address: str | None = Field(
        default=None, description="a running scheduler (tcp://host:8786); empty: start a LocalCluster here")
    n_workers: int = Field(default=2, ge=1, le=256, description="LocalCluster: worker processes")
    threads_per_worker: int = Field(default=1, ge=1, le=64, description="LocalCluster: threads per worker")
    memory_limit: str = Field(default="auto", description="LocalCluster: memory per worker ('auto', '2GB')")
    connect_timeout_s: float = Field(default=10, gt=0, description="give up on an unreachable scheduler after this")


ExecutorName = Literal["local", "dask"]
