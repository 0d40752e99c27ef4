"""The on-disk vector cache: float32 rows by content hash, one namespace per model and settings.

Sentence embeddings (dedup, gates, leakage) and model scores (pipeline.score) live here; reading
cached rows never imports torch.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from pathlib import Path

import numpy as np

from pipeline.atomic import save_npy_atomic

log = logging.getLogger(__name__)
KEY_BYTES = 16  # blake2b(digest_size=16) of the compared content, computed by the caller

def _as_keys(keys: list[bytes]) -> np.ndarray:
    """16-byte keys as an S16 array (sortable, searchable); a wrong-sized key fails here."""
    if any(len(k) != KEY_BYTES for k in keys):
        raise ValueError(f"cache keys must be {KEY_BYTES}-byte digests (blake2b digest_size=16)")
    return np.frombuffer(b"".join(keys), dtype=f"S{KEY_BYTES}")


class VectorCache:
    """Vectors by content key, in append-only shards under root/<model namespace>/.

    A shard is vecs-<id>.npy (n x dim float32, memory-mapped) and keys-<id>.npy (n x 16 uint8).
    The keys file is renamed into place last, so it marks a complete shard: a crash leaves at most
    an orphan vecs file or a *.tmp-* file, and both are ignored. Only keys are read on open; they
    form one sorted array searched with binary search (28 bytes a key in memory, not a dict entry).
    """

    def __init__(self, root: str | Path, model_key: str):
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_key.split("|")[0])[:60]
        digest = hashlib.blake2b(model_key.encode(), digest_size=8).hexdigest()
        self.dir = Path(root) / f"{slug}-{digest}"
        self.model_key = model_key
        self._vecs: list[np.ndarray] = []
        self._sorted = np.empty(0, dtype=f"S{KEY_BYTES}")
        self._shard = np.empty(0, dtype=np.int32)
        self._row = np.empty(0, dtype=np.int64)
        for keys_file in sorted(self.dir.glob("keys-*.npy")):
            self._open_shard(keys_file)

    def __len__(self) -> int:
        return len(self._sorted)

    def _open_shard(self, keys_file: Path) -> None:
        vecs_file = keys_file.with_name("vecs-" + keys_file.name[len("keys-"):])
        try:
            keys = np.load(keys_file).reshape(-1).view(f"S{KEY_BYTES}")
            vecs = np.load(vecs_file, mmap_mode="r")
        except (OSError, ValueError) as e:  # a damaged shard fails alone: its vectors are recomputed
            log.warning("vector cache: skipping unreadable shard %s (%s)", keys_file.name, e)
            return
        if vecs.ndim != 2 or len(vecs) != len(keys):
            log.warning("vector cache: skipping shard %s: %d keys, vectors %s", keys_file.name, len(keys), vecs.shape)
            return
        self._index(keys, vecs)

    def _index(self, keys: np.ndarray, vecs: np.ndarray) -> None:
        """Merge one shard's keys into the sorted index (timsort merges two sorted runs in linear time)."""
        if self._vecs and vecs.shape[1] != self._vecs[0].shape[1]:
            raise ValueError(f"vector cache {self.dir}: dimension {vecs.shape[1]} != {self._vecs[0].shape[1]}")
        self._vecs.append(vecs)
        order = np.argsort(keys, kind="stable")
        merged = np.concatenate([self._sorted, keys[order]])
        by_key = np.argsort(merged, kind="stable")
        self._sorted = merged[by_key]
        self._shard = np.concatenate([self._shard, np.full(len(keys), len(self._vecs) - 1, np.int32)])[by_key]
        self._row = np.concatenate([self._row, order.astype(np.int64)])[by_key]

    def get(self, keys: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """(found mask (n,), vectors of the found keys in key order (n_found, dim) float32)."""
        dim = self._vecs[0].shape[1] if self._vecs else 0
        if not self._vecs or not keys:
            return np.zeros(len(keys), dtype=bool), np.empty((0, dim), dtype=np.float32)
        q = _as_keys(keys)
        pos = np.minimum(np.searchsorted(self._sorted, q), len(self._sorted) - 1)
        found = self._sorted[pos] == q
        pos = pos[found]
        out = np.empty((len(pos), dim), dtype=np.float32)
        shard, row = self._shard[pos], self._row[pos]
        for s in np.unique(shard):
            sel = np.flatnonzero(shard == s)
            rows = row[sel]
            order = np.argsort(rows)  # ascending rows read the memory map front to back
            out[sel[order]] = self._vecs[s][rows[order]]
        return found, out

    def put(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Append one shard (vectors first, keys last: the keys file commits it)."""
        q = _as_keys(keys)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(q):
            raise ValueError(f"{len(q)} keys but vectors of shape {vectors.shape}")
        if not len(q):
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        shard_id = uuid.uuid4().hex  # unique across processes writing the same cache
        vecs_file = self.dir / f"vecs-{shard_id}.npy"
        save_npy_atomic(vecs_file, vectors)
        save_npy_atomic(self.dir / f"keys-{shard_id}.npy", q.view(np.uint8).reshape(-1, KEY_BYTES))
        self._index(q.copy(), np.load(vecs_file, mmap_mode="r"))
