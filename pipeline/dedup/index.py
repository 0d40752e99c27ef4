"""A dedup level's index: the features of the records it kept, stored beside its output.

An incremental run names earlier outputs in `against`; their indexes are loaded instead of
recomputing signatures or embeddings of records that were curated before. Layout, inside the
stage folder:

    index/meta.json        level, the params that make features comparable, record count
    index/records.parquet  id, kind, group_id of each indexed record, in feature-row order
    index/features.npy     one row of features per record (hashes, signatures or embeddings)
    index/sets-<k>.values.npy, index/sets-<k>.offsets.npy, index/sets.json, index/sets.rows.npy
                           near level with exact verification: the shingle sets of the stage's
                           input as its shards wrote them (moved, not copied), and the input row
                           of each indexed record, so later runs decide on the sets too
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.fingerprint import hash_file_stats, hash_json

INDEX_DIR = "index"


class DedupIndexError(ValueError):
    """An `against` path that holds no usable index for the level."""


@dataclass
class LevelIndex:
    path: Path
    level: str
    params: dict[str, Any]
    ids: list[str]
    kinds: np.ndarray
    features: np.ndarray
    sets: Any = None  # the indexed records' shingle sets by index row (`take`), when stored


def write_index(stage_dir: Path, level: str, params: dict[str, Any], ids: list[str], kinds: list[str],
                groups: list[str], features: np.ndarray, rows: np.ndarray | None = None,
                chunk_rows: int = 1 << 16, sets: Any = None) -> None:
    """The index of the records `ids`: their features are `features[rows]` (all rows when None),
    copied a chunk at a time, so a memory-mapped `features` is never loaded whole; with `sets`
    (the stage's ShardedSets), their shingle sets."""
    out = stage_dir / INDEX_DIR
    out.mkdir()
    rows = np.arange(len(features)) if rows is None else rows
    stored = np.lib.format.open_memmap(out / "features.npy", mode="w+", dtype=features.dtype,
                                       shape=(len(rows), *features.shape[1:]))
    for lo in range(0, len(rows), chunk_rows):
        stored[lo: lo + chunk_rows] = features[rows[lo: lo + chunk_rows]]
    stored.flush()
    del stored
    if sets is not None:
        _move_sets(out, sets, rows)
    pq.write_table(pa.table({"id": ids, "kind": kinds, "group_id": groups}), out / "records.parquet")
    (out / "meta.json").write_text(json.dumps({"level": level, "params": params, "records": len(ids)}, indent=2))


def _move_sets(out: Path, sets: Any, rows: np.ndarray) -> None:
    """The shards' shingle set files moved into the index (they are scratch files of the stage,
    removed after it), with the input row of each indexed record."""
    import os

    names = []
    for k, stem in enumerate(sets.stems):
        for part in ("values", "offsets"):
            os.replace(f"{stem}.{part}.npy", out / f"sets-{k}.{part}.npy")
        names.append(f"sets-{k}")
    np.save(out / "sets.rows.npy", np.asarray(rows, np.int64))
    (out / "sets.json").write_text(json.dumps({"stems": names, "starts": list(sets.starts), "rows": sets.rows}))


def _load_sets(path: Path) -> Any:
    """The indexed records' shingle sets, read by index row (None for an index without them)."""
    if not (path / "sets.json").is_file():
        return None
    from pipeline.dedup.sharded import RowsOf, ShardedSets

    meta = json.loads((path / "sets.json").read_text())
    stored = ShardedSets(tuple(str(path / s) for s in meta["stems"]), tuple(meta["starts"]), meta["rows"])
    return RowsOf(stored, np.load(path / "sets.rows.npy"))


def find_index(path: str | Path, level: str) -> Path:
    """The index folder for `level` under `path`: a dedup stage folder, or a run directory.

    In a run directory the newest finished `dedup_<level>` stage is taken.
    """
    path = Path(path)
    if (path / INDEX_DIR / "meta.json").is_file():
        found = path / INDEX_DIR
    else:
        stages = sorted((path / "stages").glob(f"dedup_{level}-*/{INDEX_DIR}/meta.json"),
                        key=lambda p: json.loads((p.parent.parent / "manifest.json").read_text())["timings"]["finished_at"])
        if not stages:
            raise DedupIndexError(f"against {path}: no dedup_{level} output with an index (is the {level} level enabled there?)")
        found = stages[-1].parent
    meta = json.loads((found / "meta.json").read_text())
    if meta["level"] != level:
        raise DedupIndexError(f"against {path}: the index is of level {meta['level']!r}, not {level!r}")
    return found


def index_fingerprint(path: Path) -> str:
    return hash_json({"path": str(path), "files": hash_file_stats(sorted(path.iterdir()))})


def load_index(path: Path, level: str, params: dict[str, Any]) -> LevelIndex:
    meta = json.loads((path / "meta.json").read_text())
    if meta["params"] != params:
        raise DedupIndexError(f"{path}: its {level} features were made with {meta['params']}, this run uses {params};"
                          " compare with the same settings, or deduplicate the union afresh")
    records = pq.read_table(path / "records.parquet")
    sets = _load_sets(path)
    return LevelIndex(path, level, meta["params"], records.column("id").to_pylist(),
                      np.asarray(records.column("kind").to_pylist(), dtype=object),
                      np.load(path / "features.npy", mmap_mode="r"), sets)
