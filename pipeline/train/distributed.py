"""Which process of a distributed launch this is (accelerate and torchrun set RANK and WORLD_SIZE)."""

from __future__ import annotations

import os


def is_main_process() -> bool:
    """Process 0 of a distributed launch, or a single process."""
    return int(os.environ.get("RANK", "0")) == 0


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))
