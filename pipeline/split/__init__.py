"""Splitting: stable, group-aware train/validation/test assignment with held-out reference sets.

Assignment is a keyed hash of each record's group, so a record's split never changes when
records are added; leakage and straddling groups are measured and written to the manifest.

`pipeline.config` imports `pipeline.split.config`, so this package must import nothing that
imports `pipeline.config` back: the stage and its readers load on first use.
"""

from importlib import import_module
from typing import Any

from pipeline.split.assign import assign_split
from pipeline.split.config import SPLITS, ReferenceSet, SplitConfig, SplitRatios

_LAZY = {"SplitStage": "pipeline.split.stage", "SPLIT_COLUMN": "pipeline.split.stage",
         "read_split": "pipeline.split.read", "split_fingerprints": "pipeline.split.read"}

__all__ = ["SPLITS", "ReferenceSet", "SplitConfig", "SplitRatios", "assign_split", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pipeline.split' has no attribute {name!r}")
