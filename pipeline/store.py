"""Stage outputs on disk: sharded parts written atomically, reused when inputs and config are unchanged.

Layout of a run directory:

    <out_dir>/stages/<stage>-<key>/kept/part-00000.parquet      records the stage kept, one file per part
    <out_dir>/stages/<stage>-<key>/rejected/part-00000.parquet  records it rejected, each with a reason
    <out_dir>/stages/<stage>-<key>/stats/part-00000.json        each part's counts, written by its worker
    <out_dir>/stages/<stage>-<key>/manifest.json                counts merged, timings, config, fingerprints
    <out_dir>/catalog.sqlite                                    runs, stages, fingerprints, counts

`key` hashes the stage name and version, its resolved config and its input fingerprint. Each
part is written by the worker that made it, under hidden names renamed into place when whole;
the stage is written into a hidden temporary folder renamed into place only once its manifest
is complete, so a killed run never leaves a folder, or a part, that a later run would read.
Every reader iterates the parts: no process holds a whole stage in memory.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.atomic import write_json_atomic
from pipeline.fingerprint import hash_files, hash_json, library_versions
from pipeline.parts import (
    KEPT_DIR, REJECTED_DIR, STATS_DIR, AccountingError, BatchResult, PartWriter, Shard, fsync_dir, merge_parts, part_name,
)
from pipeline.rows import REJECT_SCHEMA, reject_rows

__all__ = ["AccountingError", "BatchResult", "REJECT_SCHEMA", "StageOutput", "StageStore", "reject_rows"]

MANIFEST = "manifest.json"
# Bumped when the folder layout changes, so folders of the old layout are never looked up.
LAYOUT = 2


@dataclass
class StageOutput:
    path: Path
    manifest: dict[str, Any]
    reused: bool = False

    @property
    def fingerprint(self) -> str:
        return self.manifest["output_fingerprint"]

    @property
    def counts(self) -> dict[str, Any]:
        return self.manifest["counts"]

    @property
    def parts(self) -> list[dict[str, Any]]:
        """Each part's name and counts, in order."""
        return self.manifest["parts"]

    @property
    def kept_files(self) -> list[Path]:
        return [self.path / KEPT_DIR / f"{p['name']}.parquet" for p in self.parts]

    @property
    def rejected_files(self) -> list[Path]:
        return [self.path / REJECTED_DIR / f"{p['name']}.parquet" for p in self.parts]

    def kept_schema(self) -> pa.Schema:
        return pq.read_schema(self.kept_files[0])

    def shards(self) -> list[Shard]:
        """One shard per kept part, with the global row number of its first record."""
        out, offset = [], 0
        for i, (p, f) in enumerate(zip(self.parts, self.kept_files)):
            out.append(Shard(i, part_name(i), (str(f),), offset, p["kept"]))
            offset += p["kept"]
        return out

    def iter_batches(self, batch_size: int = 2000, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        for f in self.kept_files:
            yield from pq.ParquetFile(f).iter_batches(batch_size=batch_size,
                                                      columns=None if columns is None else list(columns))

    def read_kept(self, columns: Sequence[str] | None = None, filters: Any = None) -> pa.Table:
        return _read_parts(self.kept_files, columns, filters)

    def read_rejected(self, columns: Sequence[str] | None = None) -> pa.Table:
        return _read_parts(self.rejected_files, columns, None)

    def to_dataset(self):
        """The kept records as a Hugging Face `datasets.Dataset` (memory-mapped Arrow)."""
        import datasets

        return datasets.Dataset.from_parquet([str(f) for f in self.kept_files],
                                             cache_dir=str(self.path / ".hf_cache"))


def _read_parts(files: list[Path], columns: Sequence[str] | None, filters: Any) -> pa.Table:
    cols = None if columns is None else list(columns)
    return pa.concat_tables([pq.read_table(f, columns=cols, filters=filters) for f in files])


class StageStore:
    """The `stages/` folder of one run directory."""

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self.stages_dir = self.out_dir / "stages"
        self.stages_dir.mkdir(parents=True, exist_ok=True)

    def stage_key(self, name: str, version: str, config: Any, input_fingerprint: str) -> str:
        return hash_json({"stage": name, "version": version, "config": config, "input": input_fingerprint,
                          "layout": LAYOUT})

    def lookup(self, name: str, key: str) -> StageOutput | None:
        path = self.stages_dir / f"{name}-{key}"
        manifest = path / MANIFEST
        if not manifest.is_file():
            return None
        return StageOutput(path, json.loads(manifest.read_text()), reused=True)

    def begin(self, name: str, key: str) -> Path:
        """A fresh hidden folder for the stage's parts; temporary folders of killed runs are cleared."""
        for p in self.stages_dir.glob(f".{name}-*.tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
        tmp = self.stages_dir / f".{name}-{key}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        return tmp

    def publish(self, tmp: Path, name: str, key: str, manifest: dict[str, Any]) -> StageOutput:
        """Write the manifest last, then rename the folder into place."""
        # Half-written parts of tasks whose worker died (their shard was rerun elsewhere).
        for leftover in (p for d in (KEPT_DIR, REJECTED_DIR, STATS_DIR) for p in (tmp / d).glob(".*")):
            leftover.unlink(missing_ok=True)
        write_json_atomic(tmp / MANIFEST, manifest)
        fsync_dir(tmp)
        final = self.stages_dir / f"{name}-{key}"
        tmp.rename(final)
        fsync_dir(self.stages_dir, files=False)
        return StageOutput(final, manifest, reused=False)

    def run(self, name: str, version: str, config: Any, input_fingerprint: str, kept_schema: pa.Schema,
            produce: Callable[[PartWriter], None]) -> StageOutput:
        """A stored dataset made by one producer in this process, as one part, or the stored one.

        For data made outside the stage contract (imports, test fixtures); stages run through
        `pipeline.engine.run_stage`, which writes a part per shard on the executor's workers.
        """
        config_json = config_to_json(config)
        key = self.stage_key(name, version, config_json, input_fingerprint)
        found = self.lookup(name, key)
        if found is not None:
            return found
        tmp, started, t0 = self.begin(name, key), now(), time.perf_counter()
        try:
            writer = PartWriter(tmp, part_name(0), kept_schema)
            try:
                produce(writer)
            except BaseException:
                writer.abort()
                raise
            part = writer.close()
            manifest = build_manifest(tmp, name, version, key, input_fingerprint, config_json, [part], {},
                                      started, time.perf_counter() - t0)
            return self.publish(tmp, name, key, manifest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def config_to_json(config: Any) -> Any:
    return config.model_dump(mode="json") if hasattr(config, "model_dump") else config


def build_manifest(tmp: Path, name: str, version: str, key: str, input_fingerprint: str, config_json: Any,
                   parts: list[dict[str, Any]], extra_counters: dict[str, int], started: str,
                   wall_s: float, executor: dict[str, Any] | None = None) -> dict[str, Any]:
    """Counts merged over the parts (in + generated = kept + rejected checked), fingerprints, timings."""
    counts, counters = merge_parts(parts)
    for k, v in extra_counters.items():
        counters[k] = counters.get(k, 0) + v
    names = [p["name"] for p in parts]
    return {
        "stage": name,
        "stage_version": version,
        "key": key,
        "input_fingerprint": input_fingerprint,
        "output_fingerprint": hash_files([tmp / KEPT_DIR / f"{n}.parquet" for n in names]),
        "rejected_fingerprint": hash_files([tmp / REJECTED_DIR / f"{n}.parquet" for n in names]),
        "counts": counts,
        "counters": dict(sorted(counters.items())),
        "parts": [{k: p[k] for k in ("name", "in", "generated", "kept", "rejected", "wall_s")} for p in parts],
        "timings": {"started_at": started, "finished_at": now(), "wall_s": round(wall_s, 3)},
        "executor": executor or {"name": "local", "workers": 1},
        "config": config_json,
        "versions": library_versions(),
        "layout": LAYOUT,
    }


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
