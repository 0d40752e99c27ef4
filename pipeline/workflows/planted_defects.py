"""The planted-defect benchmark, start to end.

1. Clean labelled items (at most `per_group` of a group, so the sample spans many documents),
   split by group into train, validation and test (the held-out items).
2. Known defects planted into train (`plant`); validation and test stay clean.
3. The corrupted train set runs through the pipeline (collect, clean, dedup with the held-out
   items as a decontamination reference set); each stage's decisions are scored against the
   planted truth (`score`), and label flips against an out-of-fold review selection (`review`).
4. Models are trained with several seeds on the clean, the corrupted and the curated train sets,
   and on the curated set after review (the selected records' labels corrected, as a reviewer
   would), each curated arm beside a size-matched random control, all scored on the clean test
   set: macro-F1 with intervals, and the share of the corruption's damage that curation
   recovers (`pipeline.experiments.stats`, `pipeline.defects.training`).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from pipeline.defects.config import DefectBenchConfig
from pipeline.defects.plant import plant
from pipeline.defects.review import review_selection
from pipeline.experiments.controls import random_control
from pipeline.defects.score import detections, item_of, precisions, redacted_items, score_catches, stage_flags
from pipeline.records import empty_record, records_to_table

Say = Callable[[str], None]


class DefectBenchError(ValueError):
    pass


def load_items(cfg: DefectBenchConfig) -> list[dict[str, Any]]:
    """{item, text, label, group} per clean record: up to `per_group` records of each group (all of a
    group when None), groups taken in a seeded order up to max_items records."""
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
    rng = random.Random(cfg.seed)
    out: list[dict[str, Any]] = []
    for g in groups:
        members = by_group[g]
        if cfg.per_group is not None and len(members) > cfg.per_group:
            members = [members[i] for i in sorted(rng.sample(range(len(members)), cfg.per_group))]
        if cfg.max_items is not None and len(out) + len(members) > cfg.max_items:
            continue
        out += members
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
    # Up to the score step: it runs only when the benchmark's `pipeline` enables it.
    return run_pipeline(parse_config(cfg), until="score")


def items_table(items: list[dict[str, Any]], source: str) -> pa.Table:
    """Clean items as records (the clean train arm, validation and test)."""
    rows = [empty_record(id=hashlib.blake2b(f"{source}\x1f{it['item']}".encode(), digest_size=16).hexdigest(),
                         kind="classification", source=source, origin=it["item"], group_id=it["group"],
                         text=it["text"], label=it["label"], meta=json.dumps({"item": it["item"], "planted": "clean"}))
            for it in items]
    return records_to_table(rows)


def planted_of(table: pa.Table) -> list[str | None]:
    return [item_of(m)[1] for m in table.column("meta").to_pylist()]


def _original_labels(truth: list[dict[str, Any]]) -> dict[str, str]:
    return {t["item"]: t["detail"].split("->")[0] for t in truth if t["kind"] == "label_flip"}


def relabelled(table: pa.Table, ids: set[str], truth: list[dict[str, Any]]) -> pa.Table:
    """`table` after a reviewer looked at the records in `ids`: a planted label flip gets its
    original label back, every other label is confirmed as it is. The planted truth stands in for
    the reviewer, so this measures what review can win, not how well people review."""
    original = _original_labels(truth)
    items = [item_of(m)[0] for m in table.column("meta").to_pylist()]
    old_ids, old_labels = table.column("id").to_pylist(), table.column("label").to_pylist()
    labels = [original.get(item, label) if rid in ids else label
              for rid, item, label in zip(old_ids, items, old_labels)]
    # A corrected record is a new record, as the pipeline's relabel makes one: a new id (so the
    # data version names the corrected data) with the old one as its parent.
    new_ids = [rid if new == old else hashlib.blake2b(f"{rid}\x1frelabel\x1f{new}".encode(), digest_size=16).hexdigest()
               for rid, old, new in zip(old_ids, old_labels, labels)]
    parents = [None if rid == nid else rid for rid, nid in zip(old_ids, new_ids)]
    parents = [p if p is not None else q for p, q in zip(parents, table.column("parent_id").to_pylist())]
    for name, values in (("label", labels), ("id", new_ids), ("parent_id", parents)):
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values, pa.string()))
    return table


def random_review(table: pa.Table, size: int, seed: int) -> set[str]:
    """The ids of `size` records picked at random: a review budget spent without a selection."""
    ids = table.column("id").to_pylist()
    return set(random.Random(seed).sample(ids, min(size, len(ids))))


def review_scores(curated: pa.Table, share: float, features: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The review selection on the curated train records, and its precision and recall on flips."""
    picks = review_selection(curated, share, features=features)
    kind = dict(zip(curated.column("id").to_pylist(), planted_of(curated)))
    flips = sum(1 for k in kind.values() if k == "label_flip")
    hits = sum(1 for p in picks if kind.get(p["id"]) == "label_flip")
    return picks, {"selected": len(picks), "flips_in_curated": flips, "flips_selected": hits,
                   "precision": hits / len(picks) if picks else None, "recall": hits / flips if flips else None,
                   "share": share, "features": features}


def _wrong_label_shares(arms: dict[str, pa.Table], truth: list[dict[str, Any]]) -> dict[str, float]:
    """Per arm, the share of its records that carry a planted flip not (yet) corrected."""
    original = _original_labels(truth)

    def wrong(t: pa.Table) -> int:
        items = (item_of(m)[0] for m in t.column("meta").to_pylist())
        return sum(1 for item, label in zip(items, t.column("label").to_pylist())
                   if item in original and label != original[item])

    return {name: wrong(t) / max(t.num_rows, 1) for name, t in arms.items()}


def run_defect_bench(cfg: DefectBenchConfig, say: Say = print, models: list[str] | None = None) -> dict[str, Any]:
    """Everything above, with the model families `models` (default: the config's; [] for detection
    only); returns the report (also written to `out_dir/defects_report.json`)."""
    from pipeline.defects.training import train_families

    out = Path(cfg.out_dir)
    items = load_items(cfg)
    splits = split_items(items, cfg)
    corrupted, truth = plant(splits["train"], splits["test"], cfg.rates, cfg.seed, apertium, cfg.flip)
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

    # Curation is everything before the score step; each score's decision is an arm of its own.
    score_stages = [n for n in stages if n.startswith("score_")]
    plain = [n for n in stages if n not in score_stages]
    raw, curated = ctx.outputs["collect"].read_kept(), ctx.outputs[plain[-1]].read_kept()
    catches = {}
    previous = plain[-1]
    for n in score_stages:
        catches[n] = score_catches(n, ctx.outputs[previous].read_kept(columns=["meta"]), ctx.outputs[n].read_rejected())
        previous = n
    picks, review = review_scores(curated, cfg.review_share, cfg.review_features)
    # Size-matched random controls: is curation's choice of records better than dropping as many
    # at random (whole groups)? Is the review selection better than reviewing as many at random?
    arms = {"clean": items_table(splits["train"], "clean"), "corrupted": raw, "curated": curated,
            "curated~random": random_control(raw, curated.num_rows, cfg.seed),
            "relabelled": relabelled(curated, {p["id"] for p in picks}, truth),
            "relabelled~random": relabelled(curated, random_review(curated, len(picks), cfg.seed), truth)}
    # A score's top-k against as many records kept at random from the same curated set.
    for n in score_stages:
        kept = ctx.outputs[n].read_kept()
        arms[n] = kept
        arms[f"{n}~random"] = random_control(curated, kept.num_rows, cfg.seed)
    # Models are scored on the test items no defect copied into train: a contaminated item's score
    # measures memorisation, not what the data taught (decontamination is scored above).
    copied = {t["of"] for t in truth if t["kind"] == "contamination"}
    scored = [it for it in splits["test"] if it["item"] not in copied]
    validation, test = items_table(splits["validation"], "heldout"), items_table(scored, "heldout")
    families = cfg.models if models is None else models
    trained = train_families(arms, validation, test, cfg, out / "models", families, say)
    report = {
        "items": len(items), "splits": {k: len(v) for k, v in splits.items()}, "planted": len(truth),
        "detection": [{"kind": d.kind, "planted": d.planted, "caught": d.caught, "recall": d.recall,
                       "missed_examples": d.missed_examples} for d in found],
        "stage_precision": [{"stage": p.stage, "flagged": p.flagged, "explained": p.explained,
                             "precision": p.precision, "unplanted_reasons": dict(p.unplanted_reasons)} for p in precise],
        "score_catches": catches, "review": review, "test_scored": len(scored), "test_contaminated_left_out": len(splits["test"]) - len(scored),
        "arms": {n: t.num_rows for n, t in arms.items()}, "wrong_labels": _wrong_label_shares(arms, truth), "models": trained,
        "config": cfg.model_dump(mode="json"),
    }
    (out / "defects_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
