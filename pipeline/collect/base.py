"""What readers yield, and helpers they share.

A reader turns one source into a stream of items, each either a raw row (a dict of the
user's columns, with where it came from) or a rejected unit (a line, row or whole file that
could not be read, with a reason). Readers never raise on bad data; they raise only when the
source itself cannot be opened at all (a missing path), which is a configuration error.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Union

PREVIEW_CHARS = 2000


@dataclass(slots=True)
class RawRow:
    data: dict[str, Any]
    origin: str
    nbytes: int = 0  # size of the raw unit when the reader knows it; 0 = measure the mapped fields


@dataclass(slots=True)
class RawReject:
    reason: str
    detail: str
    origin: str
    preview: str = ""


RawItem = Union[RawRow, RawReject]
ReaderOutput = Iterator[RawItem]


class SourceError(ValueError):
    """A source that cannot be read at all (missing path, no matching files)."""


def preview_bytes(raw: bytes) -> str:
    """A printable preview of raw input for a rejected row; never the whole of a huge unit."""
    head = raw[:PREVIEW_CHARS].decode("utf-8", errors="backslashreplace")
    return head + (f"... [{len(raw)} bytes in all]" if len(raw) > PREVIEW_CHARS else "")


def preview_text(text: str) -> str:
    # Lone surrogates (from undecodable bytes) cannot be stored as UTF-8: show them escaped.
    text = text[: PREVIEW_CHARS + 1].encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:PREVIEW_CHARS] + ("..." if len(text) > PREVIEW_CHARS else "")


_CONTROL = bytes(range(0, 9)) + bytes(range(14, 32))


def looks_binary(path: Path, probe: int = 8192) -> bool:
    """Many NUL or control bytes in the first block mark a binary file.

    One stray NUL must not condemn a whole text file (its line is rejected on its own), so
    the test is a share of control bytes, not the presence of one.
    """
    with open(path, "rb") as f:
        head = f.read(probe)
    if not head:
        return False
    control = len(head) - len(head.translate(None, _CONTROL))
    return control / len(head) > 0.05


def expand_paths(path: str, extensions: tuple[str, ...] = (), exclude: list[str] | None = None) -> list[Path]:
    """A file, every matching file under a folder (recursively), or a glob; sorted for stable order."""
    p = Path(path)
    if any(ch in path for ch in "*?["):
        files = sorted(Path(x) for x in _glob(path))
    elif p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and (not extensions or f.suffix.lower() in extensions))
    elif p.is_file():
        files = [p]
    else:
        raise SourceError(f"no such file or folder: {path}")
    exclude = exclude or []
    files = [f for f in files if not any(fnmatch.fnmatch(str(f), pat) for pat in exclude)]
    if not files:
        raise SourceError(f"no input files match {path}")
    return files


def _glob(pattern: str) -> list[str]:
    import glob

    return glob.glob(pattern, recursive=True)
