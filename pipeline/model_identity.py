"""The identity of a model: its folder's contents, or the hub snapshot it resolves to.

Caches of model outputs (embeddings, scores) are keyed by it, so a retrained or re-quantised
model never serves the old model's vectors.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_SMALL_FILE = 1 << 20  # model files up to this size are hashed whole, larger ones by head and tail
_EDGE = 1 << 16


def folder_fingerprint(folder: Path) -> str:
    """Identity of a model folder's contents, cheap even for gigabyte weights.

    Small files (configs, tokenizer) are hashed whole; large ones (weights) by name, size, first
    and last 64 KiB: a retrained or re-quantised model changes those, a copy of the folder does not.
    """
    h = hashlib.blake2b(digest_size=8)
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if f.name.lower().startswith("readme"):
            continue
        size = f.stat().st_size
        h.update(f"{f.relative_to(folder).as_posix()}:{size};".encode())
        with open(f, "rb") as fh:
            if size <= _SMALL_FILE:
                h.update(fh.read())
            else:
                h.update(fh.read(_EDGE))
                fh.seek(size - _EDGE)
                h.update(fh.read(_EDGE))
    return h.hexdigest()


def hub_revision(model_id: str) -> str:
    """The locally cached snapshot (commit) of a hub model, or 'unpinned' when none is cached yet."""
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(model_id, "config.json")
    except Exception:  # an id that is not a valid repo name: nothing to pin
        return "unpinned"
    return Path(hit).parent.name if isinstance(hit, str) else "unpinned"


def model_identity(name: str) -> str:
    """A folder's content fingerprint, or a hub id with its cached revision."""
    path = Path(name).expanduser()
    return folder_fingerprint(path) if path.is_dir() else f"{name}@{hub_revision(name)}"
