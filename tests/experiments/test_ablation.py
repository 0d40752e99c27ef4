"""Ablation end to end on a small real-model task: variants, one fixed test split, catalog rows,
the data-version registry, report plots, comparison, and reuse of trained models."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pipeline.catalog import Catalog
from pipeline.config import parse_config
from pipeline.experiments.compare import compare
from pipeline.runner import run_pipeline

BILLING = ["I was charged twice for my {} subscription this month",
           "Please refund the {} payment that went through yesterday",
           "My invoice for the {} plan shows the wrong amount",
           "Why did the price of my {} plan go up without notice"]
TECH = ["The {} app crashes every time I open the settings page",
        "I cannot log in to the {} dashboard after the update",
        "Uploading files to {} fails with a timeout error",
        "The {} sync keeps stopping halfway through the night"]
PRODUCTS = ["photo", "music", "cloud", "video", "notes", "mail", "backup", "calendar", "maps", "chat"]


def _write_data(path: Path) -> None:
    rng = random.Random(0)
    rows = []
    for label, templates in (("billing", BILLING), ("technical", TECH)):
        for t in templates:
            for p in PRODUCTS:
                rows.append({"text": t.format(p) + rng.choice([".", "!", " please.", " asap."]), "label": label})
    # Junk that cleaning removes: symbol soup and another language; the raw variant trains on it.
    rows += [{"text": "#### $$$ #### !!! ### " * 3, "label": "billing"} for _ in range(6)]
    rows += [{"text": "Je voudrais annuler mon abonnement et obtenir un remboursement complet.", "label": "technical"}
             for _ in range(3)]
    rng.shuffle(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def ablated(tmp_path_factory):
    d = tmp_path_factory.mktemp("ablation")
    _write_data(d / "tickets.jsonl")
    cfg = parse_config({
        "run": {"name": "abl", "out_dir": str(d / "run"), "workers": 1},
        "sources": [{"name": "tickets", "kind": "classification", "format": "jsonl", "path": str(d / "tickets.jsonl")}],
        "split": {"ratios": {"train": 0.6, "validation": 0.2, "test": 0.2}},
        "train": [{"name": "router", "kind": "classification",
                   "train": {"epochs": 2, "batch_size": 16, "max_length": 32, "learning_rate": 1e-4}}],
        "ablation": {"variants": [{"name": "raw", "after": "collect"}, {"name": "cleaned", "after": "clean"}]},
    })
    ctx = run_pipeline(cfg, only_ablation=True)
    return d / "run", ctx, cfg


def test_every_variant_is_scored_on_one_fixed_test_split(ablated):
    run, ctx, _ = ablated
    models = Catalog(run).models(ctx.run_id)
    assert [m["variant"] for m in models] == ["raw", "cleaned"]
    raw, cleaned = models
    assert raw["test_fingerprint"] == cleaned["test_fingerprint"]
    assert raw["validation_fingerprint"] == cleaned["validation_fingerprint"]
    assert raw["data_version"] != cleaned["data_version"]
    assert raw["n_train"] > cleaned["n_train"] > 0  # the junk is in raw's train split only
    for m in models:
        assert 0.0 <= m["metrics"]["macro_f1"] <= 1.0 and m["baseline_metrics"]["macro_f1"] >= 0
        assert Path(m["model_dir"]).name.split("-")[1] == m["data_version"][:12]  # the dir names its data
        assert json.loads((Path(m["model_dir"]) / "training.json").read_text())["data_version"] == m["data_version"]
        assert (run / "data_versions" / f"{m['data_version']}.parquet").is_file()


def test_report_has_plots_and_model_metrics(ablated):
    run, _, _ = ablated
    html = (run / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 5  # counts, reasons, lengths, metric per version, confusion
    assert "per data version" in html or "Models" in html
    assert "TF-IDF" in html


def test_compare_explains_records_removed_by_cleaning(ablated):
    run, _, _ = ablated
    (c,) = compare(run, "raw", "cleaned")
    assert c.same_test and "macro_f1" in c.metric_diff
    assert c.removed > 0
    assert all(why.startswith(("clean:", "size cap", "not in train split")) for why in c.removed_by)
    assert any(why.startswith("clean:") for why in c.removed_by)


def test_rerun_reuses_stages_and_models(ablated):
    run, ctx, cfg = ablated
    stamps = {m["model_dir"]: (Path(m["model_dir"]) / "training.json").stat().st_mtime_ns
              for m in Catalog(run).models(ctx.run_id)}
    again = run_pipeline(cfg, only_ablation=True)
    assert all(out.reused for out in again.outputs.values())
    for m in Catalog(run).models(again.run_id):
        assert (Path(m["model_dir"]) / "training.json").stat().st_mtime_ns == stamps[m["model_dir"]]
