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
-- One trained and evaluated model. `data_version` hashes the exact train/validation/test
-- record sets; `test_fingerprint` says which test set the metrics were measured on, so two
-- models are compared only on the same one.
CREATE TABLE IF NOT EXISTS models (
    model_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    task TEXT NOT NULL,
    variant TEXT NOT NULL,
    kind TEXT NOT NULL,
    data_version TEXT NOT NULL,
    train_fingerprint TEXT NOT NULL,
    validation_fingerprint TEXT NOT NULL,
    test_fingerprint TEXT NOT NULL,
    source_stage TEXT NOT NULL,
    source_path TEXT NOT NULL,
    split_path TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_dir TEXT NOT NULL,
    n_train INTEGER NOT NULL,
    n_validation INTEGER NOT NULL,
    n_test INTEGER NOT NULL,
    leakage_removed INTEGER NOT NULL DEFAULT 0,  -- train records dropped for equalling an eval record
    metrics TEXT NOT NULL,
    baseline_metrics TEXT,
    config_json TEXT NOT NULL,
    code_version TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS models_data_version ON models(data_version);
-- An ablation's statistics per task, variant (or random control) and metric: the mean over
-- seeds with its interval, and the paired differences to the previous variant and to the
-- variant's random control (JSON: {other, value, low, high, verdict}), with training cost.
CREATE TABLE IF NOT EXISTS effects (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    task TEXT NOT NULL,
    variant TEXT NOT NULL,
    metric TEXT NOT NULL,
    role TEXT NOT NULL,
    n_seeds INTEGER NOT NULL,
    n_train INTEGER NOT NULL,
    value REAL,
    low REAL,
    high REAL,
    vs_previous TEXT,
    vs_control TEXT,
    train_seconds REAL NOT NULL,
    train_tokens INTEGER NOT NULL,
    confidence REAL NOT NULL,
    PRIMARY KEY (run_id, task, variant, metric)
);
"""
# Columns added to `models` after catalogs were first written: added in place on open.
_MODEL_COLUMNS = {
    "seed": "INTEGER NOT NULL DEFAULT 0",
    "role": "TEXT NOT NULL DEFAULT 'variant'",  # variant | random_control
    "control_of": "TEXT",  # a random control: the variant it is matched to
    "train_seconds": "REAL NOT NULL DEFAULT 0",
    "train_tokens": "INTEGER NOT NULL DEFAULT 0",
    "tokens": "TEXT",  # JSON: SFT token accounting per split (records, tokens, truncated and loss shares, by source)
    "warnings": "TEXT",  # JSON list of training warnings
    "leakage": "TEXT",  # JSON {exact|near|semantic|none: {n, metric: value}}: test metrics by closeness to train
    "mlflow_run_id": "TEXT",  # the model's run in the tracking store
    "registered_model": "TEXT",  # current models: the task's registered model and this model's version
    "model_version": "INTEGER",
    "champion": "TEXT",  # JSON: the champion gate's decision (promoted | kept | unchanged, both scores)
}
_JSON_EFFECT = ("vs_previous", "vs_control")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Catalog:
    def __init__(self, out_dir: str | Path):
        self.path = Path(out_dir) / CATALOG_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con, con:
            con.executescript(_DDL)
            have = {r["name"] for r in con.execute("PRAGMA table_info(models)")}
            for name, decl in _MODEL_COLUMNS.items():
                if name not in have:
                    con.execute(f"ALTER TABLE models ADD COLUMN {name} {decl}")

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

    def record_stage(self, run_id: str, position: int, output: StageOutput, label: str | None = None) -> None:
        """One stage of a run; `label` tells apart runs of one stage (e.g. `split:raw`)."""
        m = output.manifest
        c = m["counts"]
        with closing(self._connect()) as con, con:
            con.execute(
                "INSERT OR REPLACE INTO stage_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id, position, label or m["stage"], m["key"], m["input_fingerprint"], m["output_fingerprint"],
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

    def record_model(self, row: dict[str, Any]) -> None:
        row = {**row, "created_at": row.get("created_at") or _now()}
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        values = [json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for v in row.values()]
        with closing(self._connect()) as con, con:
            con.execute(f"INSERT OR REPLACE INTO models ({cols}) VALUES ({marks})", values)

    def models(self, run_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM models" + (" WHERE run_id = ?" if run_id else "") + " ORDER BY created_at, rowid"
        with closing(self._connect()) as con:
            rows = [dict(r) for r in con.execute(sql, (run_id,) if run_id else ())]
        for r in rows:
            for k in ("metrics", "baseline_metrics", "config_json", "leakage", "tokens", "warnings", "champion"):
                r[k] = json.loads(r[k]) if r[k] else None
        return rows

    def record_effects(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        with closing(self._connect()) as con, con:
            for row in rows:
                row = {**row, "run_id": run_id}
                values = [json.dumps(v, sort_keys=True) if k in _JSON_EFFECT and v is not None else v
                          for k, v in row.items()]
                con.execute(f"INSERT OR REPLACE INTO effects ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                            values)

    def effects(self, run_id: str) -> list[dict[str, Any]]:
        with closing(self._connect()) as con:
            rows = [dict(r) for r in con.execute("SELECT * FROM effects WHERE run_id = ? ORDER BY rowid", (run_id,))]
        for r in rows:
            for k in _JSON_EFFECT:
                r[k] = json.loads(r[k]) if r[k] else None
        return rows

    def find_models(self, ref: str) -> list[dict[str, Any]]:
        """Models whose data version, model id, run id or variant starts with / equals `ref`."""
        return [m for m in self.models() if m["data_version"].startswith(ref) or m["model_id"].startswith(ref)
                or m["run_id"] == ref or m["variant"] == ref]

    def stages(self, run_id: str) -> list[dict[str, Any]]:
        with closing(self._connect()) as con:
            rows = con.execute("SELECT * FROM stage_runs WHERE run_id = ? ORDER BY position", (run_id,))
            return [dict(r) for r in rows]


def existing_catalog(run_dir: str | Path) -> Catalog | None:
    """The run directory's catalog, or None when it has none (opening a Catalog would create an
    empty one, which a read-only command must not leave behind)."""
    run_dir = Path(run_dir)
    return Catalog(run_dir) if (run_dir / CATALOG_FILE).is_file() else None
