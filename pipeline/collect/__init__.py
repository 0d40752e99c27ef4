"""Collection: readers for files, Hugging Face datasets, code trees and e-mail."""

from pipeline.collect.stage import CollectStage, read_source

__all__ = ["CollectStage", "read_source"]
