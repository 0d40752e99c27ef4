"""What a run did, read back from its catalog and stage folders: counts, reasons, examples."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


from pipeline.catalog import CATALOG_FILE, Catalog

EXAMPLE_CHARS = 160


@dataclass
class StageSummary:
    stage: str
    n_in: int
    n_kept: int
    n_rejected: int
    wall_s: float
    reused: bool
    path: str
    input_fingerprint: str
    output_fingerprint: str
    reasons: dict[str, int]
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    n_generated: int = 0  # records the stage made itself (augmentation)


@dataclass
class RunSummary:
    run_id: str
    name: str
    status: str
    started_at: str
    finished_at: str | None
    out_dir: str
    code_version: str
    error: str | None
    stages: list[StageSummary]
    config: dict = field(default_factory=dict)  # the run's resolved config (the ablation's variant order)


_CONTENT_KEYS = ("text", "label", "prompt", "response", "code")


def _content_preview(record: str) -> str:
    """The record's content fields (not its id and lineage), or the raw preview as it is."""
    try:
        rec = json.loads(record)
    except ValueError:
        return record
    if not isinstance(rec, dict) or not any(k in rec for k in _CONTENT_KEYS):
        return record
    return " | ".join(f"{k}: {rec[k]}" for k in _CONTENT_KEYS if rec.get(k) is not None)


def _examples(rejected_dir: Path, per_reason: int) -> dict[str, list[dict[str, str]]]:
    import pyarrow.parquet as pq

    out: dict[str, list[dict[str, str]]] = {}
    batches = (b for f in sorted(rejected_dir.glob("part-*.parquet"))
               for b in pq.ParquetFile(f).iter_batches(batch_size=4096, columns=["reason", "detail", "origin", "record"]))
    for batch in batches:
        for row in batch.to_pylist():
            bucket = out.setdefault(row["reason"], [])
            if len(bucket) < per_reason:
                rec = _content_preview(row["record"] or "").replace("\n", " ")
                bucket.append({"origin": row["origin"] or "", "detail": row["detail"] or "",
                               "record": rec[:EXAMPLE_CHARS] + ("…" if len(rec) > EXAMPLE_CHARS else "")})
    return out


def run_summary(out_dir: str | Path, run_id: str | None = None, examples: int = 2) -> RunSummary:
    out_dir = Path(out_dir)
    if not (out_dir / CATALOG_FILE).is_file():
        raise FileNotFoundError(f"{out_dir} is not a run directory (no {CATALOG_FILE})")
    catalog = Catalog(out_dir)
    run = next((r for r in catalog.runs() if r["run_id"] == run_id), None) if run_id else (
        catalog.latest_run(status=None))
    if run is None:
        raise LookupError(f"no run {run_id!r} in {out_dir}" if run_id else f"no runs in {out_dir}")
    stages = []
    for s in catalog.stages(run["run_id"]):
        path = Path(s["path"])
        manifest = json.loads((path / "manifest.json").read_text())
        stages.append(StageSummary(
            stage=s["stage"], n_in=s["n_in"], n_kept=s["n_kept"], n_rejected=s["n_rejected"],
            wall_s=s["wall_s"], reused=bool(s["reused"]), path=str(path),
            input_fingerprint=s["input_fingerprint"], output_fingerprint=s["output_fingerprint"],
            reasons=json.loads(s["rejected_by_reason"]), counters=manifest.get("counters", {}),
            examples=_examples(path / "rejected", examples) if examples else {},
            n_generated=manifest["counts"].get("generated", 0),
        ))
    return RunSummary(run["run_id"], run["name"], run["status"], run["started_at"], run["finished_at"],
                      str(out_dir), run["code_version"], run["error"], stages, json.loads(run["config_json"] or "{}"))
