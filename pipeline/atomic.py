"""Files that appear whole or not at all: written under a hidden temporary name, flushed to
disk, then renamed into place. A reader (or a later run) never sees half a file."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable


def write_atomic(path: str | Path, write: Callable[[Path], None], make_parents: bool = True) -> Path:
    """`write(tmp)` fills a temporary file beside `path`, which is then fsynced and renamed over
    it. Without `make_parents`, a missing folder is an error (a stage's scratch folder that its
    failed stage removed must not come back)."""
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_json_atomic(path: str | Path, value: Any) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(json.dumps(value, indent=2, sort_keys=True, default=str)))


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_table_atomic(path: str | Path, table: Any) -> Path:
    import pyarrow.parquet as pq

    return write_atomic(path, lambda tmp: pq.write_table(table, tmp))


def save_npy_atomic(path: str | Path, array: Any, make_parents: bool = True) -> Path:
    import numpy as np

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, array)

    return write_atomic(path, write, make_parents)
