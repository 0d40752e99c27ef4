"""Fixtures for the annotation tests: the training tests' tiny random Llama, shared rather than copied."""

from __future__ import annotations

import os

# Passive OpenMP waiting on 2 shared cores (see tests/train/conftest.py); before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from tests.train.conftest import smol_tokenizer, tiny_llama_dir  # noqa: E402  (fixtures, used by name)

__all__ = ["smol_tokenizer", "tiny_llama_dir"]
