"""Annotations kept beside the data: every version of every annotation, keyed by record id.

Layout of `<out_dir>/annotations/<project>/`:

    tasks.parquet            the push ledger: record id -> task id, when, why, by which push
    versions/<sync>.parquet  annotation versions first seen by one pull (append-only)
    state.json               the pull cursor and the counts of each sync

A version is one (annotation id, updated_at, deleted) triple with who made it, on which task,
for which record, and its result. A pull writes its versions file first and moves the cursor
in `state.json` second, both atomically: a pull killed in between is re-run from the old cursor
and the versions it had already written are recognised and not stored twice.

`fingerprint()` hashes the live versions: it is part of the input of the stage that applies the
annotations, so any new, changed or deleted annotation makes a new data version.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.atomic import write_json_atomic, write_table_atomic
from pipeline.fingerprint import hash_json

VERSION_SCHEMA = pa.schema([
    ("annotation_id", pa.int64()), ("task_id", pa.int64()), ("record_id", pa.string()),
    ("annotator", pa.string()), ("created_at", pa.string()), ("updated_at", pa.string()),
    ("deleted", pa.bool_()), ("was_cancelled", pa.bool_()), ("lead_time", pa.float64()),
    ("result", pa.string()),  # Label Studio's result JSON, as pulled
    ("sync_id", pa.string()), ("seen_at", pa.string()),
])
LEDGER_SCHEMA = pa.schema([
    ("record_id", pa.string()), ("task_id", pa.int64()), ("push_id", pa.string()), ("pushed_at", pa.string()),
    ("strategy", pa.string()), ("reason", pa.string()), ("model_version", pa.string()),
])


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class AnnotationStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.versions_dir = self.root / "versions"
        self.versions_dir.mkdir(parents=True, exist_ok=True)

    # -- pull state
    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text()) if self.state_path.is_file() else {"cursor": None, "syncs": []}

    def save_state(self, state: dict[str, Any]) -> None:
        write_json_atomic(self.state_path, state)

    # -- versions
    def versions(self) -> pa.Table:
        files = sorted(self.versions_dir.glob("*.parquet"))
        if not files:
            return VERSION_SCHEMA.empty_table()
        return pa.concat_tables([pq.read_table(f, schema=VERSION_SCHEMA) for f in files])

    def append_versions(self, sync_id: str, rows: list[dict[str, Any]]) -> None:
        """One file per sync (a re-run of the same sync id replaces it with a superset)."""
        table = pa.Table.from_pylist(rows, schema=VERSION_SCHEMA)
        write_table_atomic(self.versions_dir / f"{sync_id}.parquet", table)

    def latest(self, versions: pa.Table | None = None) -> list[dict[str, Any]]:
        """The latest version of each annotation (a deletion is its last version)."""
        latest: dict[int, dict[str, Any]] = {}
        for v in (versions if versions is not None else self.versions()).to_pylist():
            prev = latest.get(v["annotation_id"])
            if prev is None or (v["deleted"], v["updated_at"]) >= (prev["deleted"], prev["updated_at"]):
                latest[v["annotation_id"]] = v
        return sorted(latest.values(), key=lambda v: (v["record_id"] or "", v["annotation_id"]))

    def live(self, versions: pa.Table | None = None) -> list[dict[str, Any]]:
        """The latest version of each annotation, without deleted or cancelled (skipped) ones."""
        return [v for v in self.latest(versions) if not v["deleted"] and not v["was_cancelled"]]

    def skips(self, versions: pa.Table | None = None) -> list[dict[str, Any]]:
        """The skips standing now: an annotator looked at the task and cancelled instead of answering."""
        return [v for v in self.latest(versions) if not v["deleted"] and v["was_cancelled"]]

    def fingerprint(self) -> str:
        return hash_json([[v["annotation_id"], v["updated_at"]] for v in self.live()])

    # -- push ledger
    @property
    def ledger_path(self) -> Path:
        return self.root / "tasks.parquet"

    def ledger(self) -> pa.Table:
        return pq.read_table(self.ledger_path, schema=LEDGER_SCHEMA) if self.ledger_path.is_file() \
            else LEDGER_SCHEMA.empty_table()

    def add_to_ledger(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        merged = {r["record_id"]: r for r in self.ledger().to_pylist()}
        for r in rows:
            merged.setdefault(r["record_id"], r)  # the first push of a record stays its entry
        table = pa.Table.from_pylist(sorted(merged.values(), key=lambda r: r["task_id"]), schema=LEDGER_SCHEMA)
        write_table_atomic(self.ledger_path, table)


def store_for(out_dir: str | Path, config: Any, kind: str) -> AnnotationStore:
    return AnnotationStore(Path(out_dir) / "annotations" / f"{config.project.replace(' ', '_')}-{kind}")


def existing_stores(out_dir: str | Path, config: Any) -> dict[str, AnnotationStore]:
    root = Path(out_dir) / "annotations"
    return {k: store_for(out_dir, config, k) for k in config.kinds
            if (root / f"{config.project.replace(' ', '_')}-{k}").is_dir()}
