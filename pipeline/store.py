"""Stage outputs on disk: written atomically, reused when inputs and config are unchanged.

Layout of a run directory:

    <out_dir>/stages/<stage>-<key>/kept.parquet      records the stage kept
    <out_dir>/stages/<stage>-<key>/rejected.parquet  records it rejected, each with a reason
    <out_dir>/stages/<stage>-<key>/manifest.json     counts, timings, config, fingerprints
    <out_dir>/catalog.sqlite                         runs, stages, fingerprints, counts

`key` hashes the stage name and version, its resolved config and its input fingerprint. A
stage is written into a hidden temporary folder and renamed into place only once its
manifest is complete, so a killed run never leaves a folder that a later run would trust.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.fingerprint import hash_files, hash_json, library_versions

REJECT_SCHEMA = pa.schema(
    [
        ("stage", pa.string()),
        ("reason", pa.string()),  # machine-readable: too_short, bad_utf8, missing_field:response
        ("detail", pa.string()),  # human-readable explanation
        ("source", pa.string()),
        ("origin", pa.string()),  # file:line, file:row or file for file-level problems
        ("id", pa.string()),  # record id when one could be computed
        ("record", pa.string()),  # the record as JSON, or a preview of the raw input
        ("duplicate_of", pa.string()),  # dedup: the id of the record this one duplicates
        ("similarity", pa.float64()),  # dedup: its similarity to that record (1.0 for exact)
    ]
)
MANIFEST = "manifest.json"
KEPT = "kept.parquet"
REJECTED = "rejected.parquet"


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


def reject_rows(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=REJECT_SCHEMA)


@dataclass
class StageOutput:
    path: Path
    manifest: dict[str, Any]
    reused: bool = False

    @property
    def kept_path(self) -> Path:
        return self.path / KEPT

    @property
    def rejected_path(self) -> Path:
        return self.path / REJECTED

    @property
    def fingerprint(self) -> str:
        return self.manifest["output_fingerprint"]

    @property
    def counts(self) -> dict[str, Any]:
        return self.manifest["counts"]

    def iter_batches(self, batch_size: int = 2000) -> Iterator[pa.RecordBatch]:
        yield from pq.ParquetFile(self.kept_path).iter_batches(batch_size=batch_size)

    def read_kept(self) -> pa.Table:
        return pq.read_table(self.kept_path)

    def read_rejected(self) -> pa.Table:
        return pq.read_table(self.rejected_path)

    def to_dataset(self):
        """The kept records as a Hugging Face `datasets.Dataset` (memory-mapped Arrow)."""
        import datasets

        return datasets.Dataset.from_parquet(str(self.kept_path), cache_dir=str(self.path / ".hf_cache"))


class StageWriter:
    """Streams a stage's batches to Parquet in a temporary folder and keeps the accounts."""

    def __init__(self, tmp_dir: Path, kept_schema: pa.Schema):
        self.tmp_dir = tmp_dir
        self.kept_schema = kept_schema
        self._kept = pq.ParquetWriter(tmp_dir / KEPT, kept_schema, compression="zstd")
        self._rejected = pq.ParquetWriter(tmp_dir / REJECTED, REJECT_SCHEMA, compression="zstd")
        self.n_in = 0
        self.n_generated = 0
        self.n_kept = 0
        self.n_rejected = 0
        self.reasons: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()

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

    def close(self) -> None:
        self._kept.close()
        self._rejected.close()
        if self.n_in + self.n_generated != self.n_kept + self.n_rejected:
            raise AccountingError(f"{self.n_in} in + {self.n_generated} generated != "
                                  f"{self.n_kept} kept + {self.n_rejected} rejected")


class StageStore:
    """The `stages/` folder of one run directory."""

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self.stages_dir = self.out_dir / "stages"
        self.stages_dir.mkdir(parents=True, exist_ok=True)

    def stage_key(self, name: str, version: str, config: Any, input_fingerprint: str) -> str:
        return hash_json({"stage": name, "version": version, "config": config, "input": input_fingerprint})

    def lookup(self, name: str, key: str) -> StageOutput | None:
        path = self.stages_dir / f"{name}-{key}"
        manifest = path / MANIFEST
        if not manifest.is_file():
            return None
        return StageOutput(path, json.loads(manifest.read_text()), reused=True)

    def run(
        self,
        name: str,
        version: str,
        config: Any,
        input_fingerprint: str,
        kept_schema: pa.Schema,
        produce: Callable[[StageWriter], None],
    ) -> StageOutput:
        """Reuse the stored output for these inputs, or produce it into a fresh folder."""
        config_json = config.model_dump(mode="json") if hasattr(config, "model_dump") else config
        key = self.stage_key(name, version, config_json, input_fingerprint)
        found = self.lookup(name, key)
        if found is not None:
            return found
        self._remove_abandoned(name)
        tmp = self.stages_dir / f".{name}-{key}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        started, t0 = _now(), time.perf_counter()
        try:
            writer = StageWriter(tmp, kept_schema)
            try:
                produce(writer)
            finally:
                writer.close()
            manifest = {
                "stage": name,
                "stage_version": version,
                "key": key,
                "input_fingerprint": input_fingerprint,
                "output_fingerprint": hash_files([tmp / KEPT]),
                "rejected_fingerprint": hash_files([tmp / REJECTED]),
                "counts": {
                    "in": writer.n_in,
                    **({"generated": writer.n_generated} if writer.n_generated else {}),
                    "kept": writer.n_kept,
                    "rejected": writer.n_rejected,
                    "rejected_by_reason": dict(sorted(writer.reasons.items())),
                },
                "counters": dict(sorted(writer.counters.items())),
                "timings": {"started_at": started, "finished_at": _now(), "wall_s": round(time.perf_counter() - t0, 3)},
                "config": config_json,
                "versions": library_versions(),
                "files": {"kept": KEPT, "rejected": REJECTED},
            }
            _write_json_durably(tmp / MANIFEST, manifest)
            _fsync_dir(tmp)
            final = self.stages_dir / f"{name}-{key}"
            os.rename(tmp, final)
            _fsync_dir(self.stages_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return StageOutput(final, manifest, reused=False)

    def _remove_abandoned(self, name: str) -> None:
        # Temporary folders of a killed run are never read; clear them so they do not pile up.
        for p in self.stages_dir.glob(f".{name}-*.tmp-*"):
            shutil.rmtree(p, ignore_errors=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_json_durably(path: Path, value: Any) -> None:
    with open(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    for p in [path, *path.iterdir()] if path.is_dir() else [path]:
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
