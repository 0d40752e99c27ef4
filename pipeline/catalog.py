"""The run catalog: one SQLite file per run directory listing runs, stages and fingerprints.

Later stages attach model metrics to the data versions (stage output fingerprints) kept here.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.store import StageOutput

CATALOG_FILE = "catalog.sqlite"

_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    config_json TEXT NOT NULL,
    code_version TEXT NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS stage_runs (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    position INTEGER NOT NULL,
    stage TEXT NOT NULL,
    key TEXT NOT NULL,
    input_fingerprint TEXT NOT NULL,
    output_fingerprint TEXT NOT NULL,
    n_in INTEGER NOT NULL,
    n_kept INTEGER NOT NULL,
    n_rejected INTEGER NOT NULL,
    rejected_by_reason TEXT NOT NULL,
    wall_s REAL NOT NULL,
    reused INTEGER NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE INDEX IF NOT EXISTS stage_runs_output ON stage_runs(output_fingerprint);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Catalog:
    def __init__(self, out_dir: str | Path):
        self.path = Path(out_dir) / CATALOG_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con, con:
            con.executescript(_DDL)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.row_factory = sqlite3.Row
        return con

    def start_run(self, name: str, config_json: dict[str, Any], config_hash: str, code_version: str) -> str:
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
        with closing(self._connect()) as con, con:
            con.execute(
                "INSERT INTO runs(run_id, name, started_at, status, config_hash, config_json, code_version)"
                " VALUES (?, ?, ?, 'running', ?, ?, ?)",
                (run_id, name, _now(), config_hash, json.dumps(config_json, sort_keys=True), code_version),
            )
        return run_id

    def record_stage(self, run_id: str, position: int, output: StageOutput) -> None:
        m = output.manifest
        c = m["counts"]
        with closing(self._connect()) as con, con:
            con.execute(
                "INSERT OR REPLACE INTO stage_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id, position, m["stage"], m["key"], m["input_fingerprint"], m["output_fingerprint"],
                    c["in"], c["kept"], c["rejected"], json.dumps(c["rejected_by_reason"]),
                    m["timings"]["wall_s"], int(output.reused), str(output.path),
                ),
            )

    def finish_run(self, run_id: str, status: str, error: str | None = None) -> None:
        with closing(self._connect()) as con, con:
            con.execute(
                "UPDATE runs SET finished_at = ?, status = ?, error = ? WHERE run_id = ?",
                (_now(), status, error, run_id),
            )

    def runs(self) -> list[dict[str, Any]]:
        with closing(self._connect()) as con:
            return [dict(r) for r in con.execute("SELECT * FROM runs ORDER BY started_at, run_id")]

    def latest_run(self, status: str | None = "succeeded") -> dict[str, Any] | None:
        sql = "SELECT * FROM runs" + (" WHERE status = ?" if status else "") + " ORDER BY started_at DESC, rowid DESC LIMIT 1"
        with closing(self._connect()) as con:
            row = con.execute(sql, (status,) if status else ()).fetchone()
        return dict(row) if row else None

    def stages(self, run_id: str) -> list[dict[str, Any]]:
        with closing(self._connect()) as con:
            rows = con.execute("SELECT * FROM stage_runs WHERE run_id = ? ORDER BY position", (run_id,))
            return [dict(r) for r in rows]
