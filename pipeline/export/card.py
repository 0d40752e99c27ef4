"""A dataset card (README.md with YAML metadata) written from the run's manifests and catalog.

It says where the records came from (sources), what each stage did to them (counts and reject
reasons), what deduplication and decontamination removed, which data version and fingerprints
name them, and which models were trained on exactly this version, with their test metrics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.catalog import Catalog
from pipeline.export.version import SPLITS, DataVersion

TASK_CATEGORIES = {"classification": "text-classification", "instruction": "text-generation",
                   "code": "text-generation"}
_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def size_category(n: int) -> str:
    return next((label for bound, label in _SIZES if n < bound), "n>1M")


def _stages(catalog: Catalog, dv: DataVersion) -> list[dict[str, Any]]:
    """The run's stages that shaped this version: up to the one it was taken after, then its split."""
    rows = catalog.stages(dv.model["run_id"])
    last = max((r["position"] for r in rows if r["path"] == dv.model["source_path"]), default=-1)
    shaped = [r for r in rows if r["position"] <= last or r["path"] == dv.model["split_path"]]
    return list({r["path"]: r for r in reversed(shaped)}.values())[::-1]  # a reused output once, first name


def _manifest(stage: dict[str, Any]) -> dict[str, Any]:
    path = Path(stage["path"]) / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
        ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _dedup_lines(stages: list[dict[str, Any]]) -> list[str]:
    lines = []
    for st in (s for s in stages if s["stage"].startswith("dedup")):
        counters = _manifest(st).get("counters", {})
        refs = sorted({k.split(":")[1] for k in counters if k.startswith("reference:")})
        decon = ", ".join(f"{r}: {counters.get(f'reference:{r}:removed', 0):,} removed of "
                          f"{counters.get(f'reference:{r}:records', 0):,} reference records" for r in refs)
        lines.append(f"- **{st['stage']}**: {st['n_rejected']:,} of {st['n_in']:,} records removed as duplicates"
                     + (f"; decontamination against {decon}" if decon else ""))
    return lines or ["- no deduplication stage shaped this version"]


def _models(catalog: Catalog, dv: DataVersion) -> list[str]:
    rows = [m for m in catalog.models() if m["data_version"] == dv.version]
    if not rows:
        return ["No model in the catalog was trained on this version."]
    keys = sorted({k for m in rows for k, v in (m["metrics"] or {}).items() if isinstance(v, (int, float))})[:6]
    return _table(["model", "run", "seed", "base model", *keys],
                  [[m["model_id"], m["run_id"], m["seed"], m["model_name"],
                    *(f"{m['metrics'][k]:.4f}" if isinstance((m["metrics"] or {}).get(k), (int, float)) else ""
                      for k in keys)] for m in rows])


def card_text(catalog: Catalog, dv: DataVersion, fmt: str, files: dict[str, list[str]]) -> str:
    """The card's text; `files` maps each written folder to its per-split files (for `configs`)."""
    from huggingface_hub import DatasetCardData

    run = next((r for r in catalog.runs() if r["run_id"] == dv.model["run_id"]), {})
    config = json.loads(run.get("config_json") or "{}")
    counts = {s: dv.splits[s].num_rows for s in SPLITS}
    stages = _stages(catalog, dv)
    meta = DatasetCardData(
        pretty_name=f"{dv.task} ({dv.version[:12]})", task_categories=[TASK_CATEGORIES[dv.kind]],
        size_categories=[size_category(sum(counts.values()))], tags=["curate", "sft", dv.kind],
        configs=[{"config_name": "default", "data_files": [{"split": s, "path": p} for s, p in
                                                          zip(SPLITS, files.get("parquet", []))]}],
        curate={"data_version": dv.version, "task": dv.task, "kind": dv.kind, "format": fmt,
                "fingerprints": {s: dv.model[f"{s}_fingerprint"] for s in SPLITS}, "run_id": dv.model["run_id"],
                "code_version": dv.model["code_version"], "records": counts})
    task_cfg = next((t for t in config.get("train", []) if t.get("name") == dv.task), {})
    named = set(task_cfg.get("sources") or [])
    sources = [[s.get("name"), s.get("kind"), s.get("format"), f"`{s.get('path') or s.get('dataset') or ''}`"]
               for s in config.get("sources", []) if s.get("kind") == dv.kind and (not named or s.get("name") in named)]
    stage_rows = [[st["stage"], f"{st['n_in']:,}", f"{st['n_kept'] + st['n_rejected'] - st['n_in']:,}",
                   f"{st['n_kept']:,}", f"{st['n_rejected']:,}",
                   ", ".join(f"{k} {v:,}" for k, v in sorted(json.loads(st["rejected_by_reason"]).items(),
                                                             key=lambda kv: -kv[1])) or ""] for st in stages]
    body = [
        f"# {dv.task}: data version `{dv.version}`", "",
        f"{dv.kind.capitalize()} records curated by `curate` (run `{dv.model['run_id']}`, code "
        f"{dv.model['code_version']}), as `{fmt}` rows: " + ", ".join(f"{s} {counts[s]:,}" for s in SPLITS) + ".",
        "", "## Data version and fingerprints", "",
        *_table(["split", "records", "fingerprint of its record ids"],
                [[s, f"{counts[s]:,}", f"`{dv.model[f'{s}_fingerprint']}`"] for s in SPLITS]),
        "", "The data version is the hash of the three fingerprints; every model trained on these records "
        "names it in the run's catalog.", "",
        "## Sources", "", *(_table(["name", "kind", "format", "path"], sources) if sources else ["(not recorded)"]),
        "", "## Records per stage", "",
        "The run's stages up to this version, over every record kind the run curated; per stage, in + generated "
        "= kept + rejected, and every rejection has a machine-readable reason.", "",
        *_table(["stage", "in", "generated", "kept", "rejected", "reject reasons"], stage_rows),
        "", "## Deduplication and decontamination", "", *_dedup_lines(stages),
        "", "## Models trained on this version", "", *_models(catalog, dv), "",
    ]
    return f"---\n{meta.to_yaml()}\n---\n\n" + "\n".join(body)
