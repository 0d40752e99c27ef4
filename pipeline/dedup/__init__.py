"""Deduplication: exact, near-duplicate (MinHash LSH) and semantic (sentence embeddings).

Each level is its own stage (see stage.py); heavy modules (numpy work, torch, the encoder)
are imported by the levels that use them, so importing this package stays cheap.
"""

from pipeline.dedup.config import DedupConfig

__all__ = ["DedupConfig"]
