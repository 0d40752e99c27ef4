"""Fingerprints: short, stable hashes of configs, files and stage outputs."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel

_VERSIONED_PACKAGES = ("curate", "pyarrow", "datasets", "pandas", "numpy", "pydantic", "py3langid")


def hash_json(value: Any) -> str:
    """Hash of a JSON-able value (pydantic models included), independent of key order."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


def hash_files(paths: Iterable[Path], chunk: int = 1 << 20) -> str:
    """Hash of the files' bytes, in the given order."""
    h = hashlib.blake2b(digest_size=16)
    for p in paths:
        h.update(str(Path(p).name).encode() + b"\0")
        with open(p, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
    return h.hexdigest()


def hash_file_stats(paths: Iterable[Path]) -> str:
    """Cheap fingerprint of input files: path, size and modification time (as HF datasets does)."""
    h = hashlib.blake2b(digest_size=16)
    for p in sorted(Path(p) for p in paths):
        st = p.stat()
        h.update(f"{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def library_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Versions of Python and of the packages that shape outputs (plus `extra` ones)."""
    versions = {"python": platform.python_version()}
    for name in (*_VERSIONED_PACKAGES, *extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def code_version() -> str:
    """The git commit of the project when run from a checkout, else the package version."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        out = None
    if out is not None and out.returncode == 0:
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    return "curate-" + metadata.version("curate")


def ids_fingerprint(ids: Iterable[str]) -> str:
    """Fingerprint of a set of records, by their ids (order does not matter)."""
    h = hashlib.blake2b(digest_size=16)
    for i in sorted(ids):
        h.update(i.encode() + b"\n")
    return h.hexdigest()
