"""Collection: readers for files, Hugging Face datasets, code trees and e-mail."""

from pipeline.collect.stage import collect, read_source

__all__ = ["collect", "read_source"]
