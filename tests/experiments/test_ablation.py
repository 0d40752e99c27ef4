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
    arms = {}
    for m in models:
        arms.setdefault(m["variant"], []).append(m)
    assert list(arms) == ["raw", "cleaned", "cleaned~random"]
    assert all(sorted(m["seed"] for m in ms) == [0, 1, 2] for ms in arms.values())  # seeds train.seed, +1, +2
    assert len({m["test_fingerprint"] for m in models}) == 1
    assert len({m["validation_fingerprint"] for m in models}) == 1
    raw, cleaned, control = (arms[a][0] for a in arms)
    assert raw["data_version"] != cleaned["data_version"]
    assert raw["n_train"] > cleaned["n_train"] > 0  # the junk is in raw's train split only
    # The control: raw's train split cut at random to cleaned's size, trained with the same seeds.
    assert control["n_train"] == cleaned["n_train"] and control["role"] == "random_control"
    assert control["control_of"] == "cleaned" and control["data_version"] not in (raw["data_version"],
                                                                                  cleaned["data_version"])
    assert len({m["metrics"]["macro_f1"] for m in arms["raw"]}) > 1  # the seeds really differ
    for m in models:
        assert 0.0 <= m["metrics"]["macro_f1"] <= 1.0
        assert (m["baseline_metrics"] is not None) == (m["role"] == "variant" and m["seed"] == 0)
        assert m["train_seconds"] > 0 and m["train_tokens"] > 0
        assert Path(m["model_dir"]).name.split("-")[1] == m["data_version"][:12]  # the dir names its data
        assert json.loads((Path(m["model_dir"]) / "training.json").read_text())["data_version"] == m["data_version"]
        assert (run / "data_versions" / f"{m['data_version']}.parquet").is_file()


def test_effects_carry_intervals_controls_and_verdicts(ablated):
    run, ctx, _ = ablated
    effects = {(e["variant"], e["metric"]): e for e in Catalog(run).effects(ctx.run_id)}
    assert set(effects) == {(v, m) for v in ("raw", "cleaned", "cleaned~random") for m in ("macro_f1", "accuracy")}
    for e in effects.values():
        assert e["n_seeds"] == 3 and e["low"] <= e["value"] <= e["high"] and e["confidence"] == 0.95
        assert e["train_tokens"] > 0
    raw, cleaned = effects[("raw", "macro_f1")], effects[("cleaned", "macro_f1")]
    assert raw["vs_previous"] is None and raw["vs_control"] is None
    step = cleaned["vs_previous"]
    assert step["other"] == "raw" and step["low"] <= step["value"] <= step["high"]
    assert step["value"] == pytest.approx(cleaned["value"] - raw["value"])
    assert step["verdict"] in ("helps", "hurts", "can't tell at this size")
    assert cleaned["vs_control"]["other"] == "cleaned~random"
    assert effects[("cleaned~random", "macro_f1")]["vs_previous"]["other"] == "raw"


def test_report_has_plots_and_model_metrics(ablated):
    run, _, _ = ablated
    html = (run / "report.html").read_text()
    # The funnel, reject reasons, the interval plot, a confusion matrix per variant, lengths.
    assert html.count("data:image/png;base64,") >= 6
    assert "Did each stage help?" in html and "random control" in html and "Models" in html
    assert "TF-IDF" in html


def test_compare_explains_records_removed_by_cleaning(ablated):
    run, _, _ = ablated
    (c,) = compare(run, "raw", "cleaned")
    assert c.same_test and "macro_f1" in c.metric_diff
    assert c.seeds == 3 and c.intervals["macro_f1"]["low"] <= c.intervals["macro_f1"]["value"] <= \
        c.intervals["macro_f1"]["high"]
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


def test_test_metrics_by_closeness_to_train_partition_the_test_set(ablated):
    run, ctx, _ = ablated
    for m in Catalog(run).models(ctx.run_id):
        strata = m["leakage"]
        assert set(strata) == {"exact", "near", "semantic", "none"}
        assert sum(s["n"] for s in strata.values()) == m["n_test"]
        for s in strata.values():
            if s["n"]:
                assert 0.0 <= s["macro_f1"] <= 1.0
    # The templated tickets share most words across splits: some test items sit near train ones.
    assert any(m["leakage"]["near"]["n"] + m["leakage"]["semantic"]["n"] > 0 for m in Catalog(run).models(ctx.run_id))


def test_compare_on_a_folder_without_a_catalog_says_so_and_creates_nothing(tmp_path):
    from pipeline.experiments.compare import CompareError

    with pytest.raises(CompareError, match="holds no run catalog"):
        compare(tmp_path / "nowhere", "raw", "cleaned")
    assert not (tmp_path / "nowhere").exists()
