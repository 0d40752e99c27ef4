"""The planted-defect benchmark, start to end.

1. Clean labelled items, split by group into train, validation and test (the held-out items).
2. Known defects planted into train (`plant`); validation and test stay clean.
3. The corrupted train set runs through the pipeline (collect, clean, dedup with the held-out
   items as a decontamination reference set); each stage's decisions are scored against the
   planted truth (`score`), and label flips against an out-of-fold review selection (`review`).
4. The same classifier is trained with several seeds on the clean, the corrupted and the curated
   train sets (and the curated set without the records selected for review), all scored on the
   clean test set: macro-F1 with intervals, and the share of the corruption's damage that
   curation recovers (`pipeline.experiments.stats`); the TF-IDF + logistic-regression baseline
   is fitted on the same arms (seconds; intervals over test items).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.defects.config import DefectBenchConfig
from pipeline.defects.plant import plant
from pipeline.defects.review import review_selection
from pipeline.experiments.controls import random_control
from pipeline.defects.score import detections, item_of, precisions, redacted_items, stage_flags
from pipeline.records import empty_record, records_to_table

Say = Callable[[str], None]


class DefectBenchError(ValueError):
    pass


def load_items(cfg: DefectBenchConfig) -> list[dict[str, Any]]:
    """{item, text, label, group} per clean record, whole groups sampled up to max_items."""
    if cfg.data == "brown":
        from pipeline.defects.brown import brown_passages
        from pipeline.demo.data import data_home

        items = brown_passages(data_home())
    else:
        path = Path(cfg.data)
        if not path.is_file():
            raise DefectBenchError(f"data file {path} does not exist: set `data` to a JSONL file of clean records")
        items = []
        for n, line in enumerate(path.read_text().splitlines()):
            if line.strip():
                row = json.loads(line)
                if not row.get(cfg.text_field) or row.get(cfg.label_field) is None:
                    raise DefectBenchError(f"{path}:{n + 1}: no {cfg.text_field!r} or {cfg.label_field!r}")
                group = str(row[cfg.group_field]) if cfg.group_field else f"line{n}"
                items.append({"item": f"line{n}", "text": row[cfg.text_field], "label": str(row[cfg.label_field]),
                              "group": group})
    groups = list(dict.fromkeys(it["group"] for it in items))
    random.Random(cfg.seed).shuffle(groups)
    by_group: dict[str, list] = {}
    for it in items:
        by_group.setdefault(it["group"], []).append(it)
    out: list[dict[str, Any]] = []
    for g in groups:
        if cfg.max_items is not None and len(out) + len(by_group[g]) > cfg.max_items:
            continue
        out += by_group[g]
    return out


def split_items(items: list[dict[str, Any]], cfg: DefectBenchConfig) -> dict[str, list[dict[str, Any]]]:
    """train / validation / test by a seeded hash of the group."""
    def position(group: str) -> float:
        digest = hashlib.blake2b(f"{cfg.seed}\x1f{group}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    out: dict[str, list] = {"train": [], "validation": [], "test": []}
    for it in items:
        p = position(it["group"])
        name = "test" if p < cfg.test_share else "validation" if p < cfg.test_share + cfg.validation_share else "train"
        out[name].append(it)
    return out


def apertium(texts: list[str], pair: str) -> list[str]:
    from pipeline.augment.apertium import ApertiumTranslator

    return ApertiumTranslator(pair).run(texts).texts


def _write_jsonl(path: Path, items: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(it) + "\n" for it in items))
    return path


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def run_pipeline_on(corrupted: Path, heldout: Path, out_dir: Path, extra: dict[str, Any]) -> Any:
    from pipeline.config import parse_config
    from pipeline.runner import run_pipeline

    cfg = _deep_merge({
        "run": {"name": "planted-defects", "out_dir": str(out_dir), "workers": 1},
        "sources": [{"name": "train", "kind": "classification", "format": "jsonl", "path": str(corrupted),
                     "fields": {"group": "group"}}],
        # Semantic dedup on classification text too (paraphrases), and the held-out items as a
        # decontamination reference set for every level.
        "dedup": {"semantic": {"kinds": ["classification"]},
                  "reference_sets": [{"name": "heldout", "kind": "classification", "path": str(heldout),
                                      "fields": {"text": "text"}}]},
    }, extra)
    return run_pipeline(parse_config(cfg), until="dedup")


def items_table(items: list[dict[str, Any]], source: str) -> pa.Table:
    """Clean items as records (the clean train arm, validation and test)."""
    rows = [empty_record(id=hashlib.blake2b(f"{source}\x1f{it['item']}".encode(), digest_size=16).hexdigest(),
                         kind="classification", source=source, origin=it["item"], group_id=it["group"],
                         text=it["text"], label=it["label"], meta=json.dumps({"item": it["item"], "planted": "clean"}))
            for it in items]
    return records_to_table(rows)


def planted_of(table: pa.Table) -> list[str | None]:
    return [item_of(m)[1] for m in table.column("meta").to_pylist()]


def review_scores(curated: pa.Table, share: float, features: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The review selection on the curated train records, and its precision and recall on flips."""
    picks = review_selection(curated, share, features=features)
    kind = dict(zip(curated.column("id").to_pylist(), planted_of(curated)))
    flips = sum(1 for k in kind.values() if k == "label_flip")
    hits = sum(1 for p in picks if kind.get(p["id"]) == "label_flip")
    return picks, {"selected": len(picks), "flips_in_curated": flips, "flips_selected": hits,
                   "precision": hits / len(picks) if picks else None, "recall": hits / flips if flips else None,
                   "share": share, "features": features}


def run_defect_bench(cfg: DefectBenchConfig, say: Say = print, train: bool = True) -> dict[str, Any]:
    """Everything above (the fine-tuned classifier of step 4 only with `train`); returns the report
    (also written to `out_dir/defects_report.json`)."""
    from pipeline.defects.training import baseline_arms, train_arms

    out = Path(cfg.out_dir)
    items = load_items(cfg)
    splits = split_items(items, cfg)
    corrupted, truth = plant(splits["train"], splits["test"], cfg.rates, cfg.seed, apertium)
    say(f"{len(items):,} clean items: train {len(splits['train']):,}, validation {len(splits['validation']):,}, "
        f"test {len(splits['test']):,}; planted {len(truth):,} defects into train ({len(corrupted):,} records)")
    data = out / "data"
    _write_jsonl(data / "truth.jsonl", truth)
    ctx = run_pipeline_on(_write_jsonl(data / "corrupted_train.jsonl", corrupted),
                          _write_jsonl(data / "heldout.jsonl", splits["validation"] + splits["test"]),
                          out / "pipeline", cfg.pipeline)
    stages = [n for n in ctx.outputs if n != "collect"]
    flags = {n: stage_flags(n, ctx.outputs[n].read_rejected()) for n in stages}
    redacted = redacted_items(ctx.outputs["clean"].read_kept(columns=["meta", "text"])) if "clean" in ctx.outputs \
        else set()
    found = detections(truth, flags, redacted)
    precise = precisions(truth, flags, redacted)

    raw, curated = ctx.outputs["collect"].read_kept(), ctx.outputs[stages[-1]].read_kept()
    picks, review = review_scores(curated, cfg.review_share, cfg.review_features)
    reviewed = curated.filter(pc.invert(pc.is_in(curated.column("id"), value_set=pa.array([p["id"] for p in picks],
                                                                                          pa.string()))))
    # Size-matched random controls: is curation's choice of records better than dropping as many
    # at random (whole groups)?
    arms = {"clean": items_table(splits["train"], "clean"), "corrupted": raw, "curated": curated,
            "curated~random": random_control(raw, curated.num_rows, cfg.seed), "curated_reviewed": reviewed,
            "curated_reviewed~random": random_control(curated, reviewed.num_rows, cfg.seed)}
    # Models are scored on the test items no defect copied into train: a contaminated item's score
    # measures memorisation, not what the data taught (decontamination is scored above).
    copied = {t["of"] for t in truth if t["kind"] == "contamination"}
    scored = [it for it in splits["test"] if it["item"] not in copied]
    validation, test = items_table(splits["validation"], "heldout"), items_table(scored, "heldout")
    baseline = baseline_arms(arms, validation, test, cfg, out / "models")
    model = train_arms(arms, validation, test, cfg, out / "models", say) if train else None
    report = {
        "items": len(items), "splits": {k: len(v) for k, v in splits.items()}, "planted": len(truth),
        "detection": [{"kind": d.kind, "planted": d.planted, "caught": d.caught, "recall": d.recall,
                       "missed_examples": d.missed_examples} for d in found],
        "stage_precision": [{"stage": p.stage, "flagged": p.flagged, "explained": p.explained,
                             "precision": p.precision, "unplanted_reasons": dict(p.unplanted_reasons)} for p in precise],
        "review": review, "test_scored": len(scored), "test_contaminated_left_out": len(splits["test"]) - len(scored),
        "arms": {n: t.num_rows for n, t in arms.items()}, "baseline": baseline, "model": model,
        "config": cfg.model_dump(mode="json"),
    }
    (out / "defects_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
