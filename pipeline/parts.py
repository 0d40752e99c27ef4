"""One part of a stage's output: written by one worker, atomically, with its own counts.

A part is three files in the stage's (temporary) folder: `kept/<part>.parquet`,
`rejected/<part>.parquet` and `stats/<part>.json`. The Parquet files are written under hidden
names and renamed into place when closed; the stats file is renamed last, so a part is whole
exactly when its stats file exists. A part written again (a retried task) replaces the old
one whole. The counts of all parts are merged into the stage's manifest, as datatrove merges
`stats/<rank>.json`.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.atomic import write_json_atomic
from pipeline.rows import REJECT_SCHEMA

KEPT_DIR, REJECTED_DIR, STATS_DIR = "kept", "rejected", "stats"


class AccountingError(RuntimeError):
    """records in + generated != kept + rejected: a stage lost or invented records."""


@dataclass
class BatchResult:
    """What a stage makes of one batch. `counters` are summed into the manifest.

    `generated` counts records the stage made itself (augmentation): each is kept or rejected
    like an input record, so in + generated = kept + rejected.
    """

    kept: pa.Table
    rejected: pa.Table
    counters: dict[str, int] = field(default_factory=dict)
    generated: int = 0


@dataclass(frozen=True)
class Shard:
    """A unit of work: for most stages one part of the input stage (`files`), whose first
    record is row `row_offset` of the whole input; `unit` carries what else a stage needs
    (collection: the source and file to read)."""

    index: int
    part: str
    files: tuple[str, ...] = ()
    row_offset: int = 0
    rows: int = 0
    unit: Any = None


def part_name(index: int) -> str:
    return f"part-{index:05d}"


def part_order(name: str) -> tuple[int, ...]:
    """A part's place in the output: its shard, then its rank among the shard's parts
    (part-00003, part-00003-0001, ...), compared as numbers, not as text."""
    return tuple(int(x) for x in name.split("-")[1:])


class PartWriter:
    """Streams one part's batches to Parquet and keeps its accounts."""

    def __init__(self, stage_dir: Path, part: str, kept_schema: pa.Schema):
        self.stage_dir, self.part, self.kept_schema = Path(stage_dir), part, kept_schema
        for d in (KEPT_DIR, REJECTED_DIR, STATS_DIR):
            (self.stage_dir / d).mkdir(exist_ok=True)
        tag = uuid.uuid4().hex[:8]
        self._tmp_kept = self.stage_dir / KEPT_DIR / f".{part}.tmp-{tag}"
        self._tmp_rejected = self.stage_dir / REJECTED_DIR / f".{part}.tmp-{tag}"
        self._kept = pq.ParquetWriter(self._tmp_kept, kept_schema, compression="zstd")
        self._rejected = pq.ParquetWriter(self._tmp_rejected, REJECT_SCHEMA, compression="zstd")
        self.n_in = self.n_generated = self.n_kept = self.n_rejected = 0
        self._t0 = time.perf_counter()
        self.reasons: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()

    @property
    def tmp_dir(self) -> Path:
        """The stage's folder, for side files (clusters, pairs, candidates)."""
        return self.stage_dir

    def write(self, result: BatchResult, n_in: int) -> None:
        n_kept, n_rej, n_gen = result.kept.num_rows, result.rejected.num_rows, result.generated
        if n_in + n_gen != n_kept + n_rej:
            made = f" and {n_gen} generated" if n_gen else ""
            raise AccountingError(f"batch of {n_in} records{made} gave {n_kept} kept + {n_rej} rejected")
        if n_kept:
            self._kept.write_table(result.kept.select(self.kept_schema.names).cast(self.kept_schema))
        if n_rej:
            self._rejected.write_table(result.rejected.cast(REJECT_SCHEMA))
            self.reasons.update(result.rejected.column("reason").to_pylist())
        self.counters.update(result.counters)
        self.n_in += n_in
        self.n_generated += n_gen
        self.n_kept += n_kept
        self.n_rejected += n_rej

    def close(self) -> dict[str, Any]:
        """Publish the part; returns its counts (also written to stats/<part>.json)."""
        self._kept.close()
        self._rejected.close()
        if self.n_in + self.n_generated != self.n_kept + self.n_rejected:
            self.abort()
            raise AccountingError(f"{self.part}: {self.n_in} in + {self.n_generated} generated != "
                                  f"{self.n_kept} kept + {self.n_rejected} rejected")
        for tmp, d in ((self._tmp_kept, KEPT_DIR), (self._tmp_rejected, REJECTED_DIR)):
            _fsync_file(tmp)
            os.replace(tmp, self.stage_dir / d / f"{self.part}.parquet")
        counts = {"name": self.part, "in": self.n_in, "generated": self.n_generated, "kept": self.n_kept,
                  "rejected": self.n_rejected, "rejected_by_reason": dict(sorted(self.reasons.items())),
                  "counters": dict(sorted(self.counters.items())), "wall_s": round(time.perf_counter() - self._t0, 3)}
        write_json_atomic(self.stage_dir / STATS_DIR / f"{self.part}.json", counts)
        return counts

    def abort(self) -> None:
        for w in (self._kept, self._rejected):
            try:
                w.close()
            except Exception:  # already closed, or the disk is gone: the files are removed anyway
                pass
        for p in (self._tmp_kept, self._tmp_rejected):
            p.unlink(missing_ok=True)


def merge_parts(parts: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, int]]:
    """(counts, counters) summed over the parts; raises when the accounts do not balance."""
    total: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    counters: Counter[str] = Counter()
    for p in parts:
        for k in ("in", "generated", "kept", "rejected"):
            total[k] += p[k]
        reasons.update(p["rejected_by_reason"])
        counters.update(p["counters"])
    if total["in"] + total["generated"] != total["kept"] + total["rejected"]:
        raise AccountingError(f"{total['in']} in + {total['generated']} generated != "
                              f"{total['kept']} kept + {total['rejected']} rejected")
    counts = {"in": total["in"], **({"generated": total["generated"]} if total["generated"] else {}),
              "kept": total["kept"], "rejected": total["rejected"],
              "rejected_by_reason": dict(sorted(reasons.items()))}
    return counts, dict(counters)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(path: Path, files: bool = True) -> None:
    """Flush a folder's entries (and, with `files`, every file below it) to disk."""
    if files:
        for p in path.rglob("*"):
            if p.is_file():
                _fsync_file(p)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
