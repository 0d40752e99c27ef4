"""Code augmentations for SFT data (imported on demand; ``import pipeline`` stays libcst-free)."""

from __future__ import annotations

from pipeline.augment.alpha import alpha_equivalent
from pipeline.augment.rename import RenameError, RenameReport, rename_identifiers, rename_report

__all__ = ["RenameError", "RenameReport", "alpha_equivalent", "rename_identifiers", "rename_report"]
