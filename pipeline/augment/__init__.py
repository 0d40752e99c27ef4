"""Augmentation for SFT data: text and code augmenters, quality gates, the augment stage.

Names load on first use, so importing a submodule (the config, say) does not pull in libcst.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "alpha_equivalent": "pipeline.augment.alpha",
    "RenameError": "pipeline.augment.rename",
    "RenameReport": "pipeline.augment.rename",
    "rename_identifiers": "pipeline.augment.rename",
    "rename_report": "pipeline.augment.rename",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipeline.augment' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
