"""The training and evaluation stage: fine-tune a pretrained model on curated data and measure it.

    from pipeline.train import TrainConfig, train_and_evaluate
    result = train_and_evaluate(train, validation, test, TrainConfig(), out_dir, data_version=v)

Importing this package stays light: torch, transformers, peft and scikit-learn load only when
`train_and_evaluate` or `tfidf_baseline` is first used (PEP 562 module `__getattr__`).
"""

from __future__ import annotations

from typing import Any

from pipeline.train.config import TrainConfig
from pipeline.train.result import TrainResult

__all__ = ["TrainConfig", "TrainResult", "train_and_evaluate", "tfidf_baseline"]

_LAZY = {"train_and_evaluate": "pipeline.train.stage", "tfidf_baseline": "pipeline.train.baseline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pipeline.train' has no attribute {name!r}")
