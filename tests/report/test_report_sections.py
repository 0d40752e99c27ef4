"""The report's pieces on small hand-made catalogs: pipeline order whatever the catalog's order,
each random control beside its variant, verdict labels, charts that grow with their rows, and a
page for a run without models."""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
from pathlib import Path

import pytest

from pipeline.catalog import Catalog
from pipeline.config import parse_config
from pipeline.report import main_metric, write_report
from pipeline.report.arms import arm_order
from pipeline.report.effects import effects_section
from pipeline.runner import run_pipeline
from tests.report.tickets import write_tickets

VARIANTS = ["raw", "cleaned", "deduped", "augmented"]
ABLATION = {"ablation": {"variants": [{"name": v, "after": a} for v, a in
                                      zip(VARIANTS, ["collect", "clean", "dedup", "augment"])],
                         "seeds": 2, "random_control": True}}
# Catalog insertion order that is neither the pipeline's nor alphabetical.
SHUFFLED = ["augmented~random", "cleaned", "augmented", "raw", "deduped~random", "cleaned~random", "deduped"]


def png_size(uri: str) -> tuple[int, int]:
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def effect(arm: str, metric: str = "macro_f1", value: float = 0.8) -> dict:
    variant = arm.removesuffix("~random")
    previous = VARIANTS[VARIANTS.index(variant) - 1] if variant != "raw" else None
    control = arm.endswith("~random")
    diff = lambda other, v, verdict: {"other": other, "value": v, "low": v - 0.05, "high": v + 0.05,  # noqa: E731
                                      "verdict": verdict}
    return {"task": "router", "variant": arm, "metric": metric, "role": "random_control" if control else "variant",
            "n_seeds": 2, "n_train": 100 - VARIANTS.index(variant), "value": value, "low": value - 0.1,
            "high": value + 0.1, "confidence": 0.95, "train_seconds": 12.0, "train_tokens": 3456,
            "vs_previous": diff(previous, 0.2, "helps") if previous else None,
            "vs_control": None if control or not previous else diff(f"{variant}~random", -0.2, "hurts")}


def test_arms_follow_the_ablation_config_with_controls_beside_their_variant():
    arms = SHUFFLED + ["current"]
    assert arm_order(ABLATION, [], arms) == ["raw", "cleaned", "cleaned~random", "deduped", "deduped~random",
                                             "augmented", "augmented~random", "current"]


def test_without_a_config_the_order_follows_the_effects_chain_not_the_alphabet():
    effects = [effect(a) for a in SHUFFLED]
    expected = ["raw", "cleaned", "cleaned~random", "deduped", "deduped~random", "augmented", "augmented~random"]
    assert arm_order(None, effects, SHUFFLED) == arm_order({}, effects, SHUFFLED) == expected


def test_effects_table_rows_are_in_pipeline_order_with_the_control_in_the_variants_row():
    effects = [effect(a, value=0.5 + 0.01 * i) for i, a in enumerate(SHUFFLED)]
    html = "\n".join(effects_section(effects, ABLATION))
    table = html[html.index("<h4>"):]
    rows = re.findall(r"<tr[^>]*><td>([^<]+)</td>(.*?)</tr>", table)
    assert [name for name, _ in rows] == ["raw", "cleaned", "deduped", "augmented"]
    cleaned = dict(rows)["cleaned"]
    control = next(e for e in effects if e["variant"] == "cleaned~random")
    assert f"{control['value']:.3f}" in cleaned  # the control's estimate sits in its variant's row
    assert "<span class='v helps'>helps</span>" in cleaned and "<span class='v hurts'>hurts</span>" in cleaned
    assert "=" not in re.sub(r"<[^>]+>", "", table)  # real cells, no key=value strings
    assert html.count("data:image/png;base64,") == 1  # the interval plot


def test_funnel_chart_grows_with_the_stages_so_labels_never_overlap():
    from pipeline import plots

    def stages(n):
        return [{"stage": f"stage_number_{i}", "in": 100, "generated": 5 * (i % 2), "kept": 90,
                 "rejected": 10 + 5 * (i % 2)} for i in range(n)]

    (_, h3), (w15, h15) = png_size(plots.stage_funnel(stages(3))), png_size(plots.stage_funnel(stages(15)))
    assert h15 - h3 >= 12 * 30  # at least 30 px more per extra stage: a 9-point label needs ~13
    _, h40 = png_size(plots.stage_funnel(stages(40)))
    assert h40 - h15 >= 25 * 30 and w15 == 900


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory) -> Path:
    """A real run without models: collect, clean, dedup and split of templated tickets (~3 s)."""
    d = tmp_path_factory.mktemp("plain")
    write_tickets(d / "tickets.jsonl")
    run_pipeline(parse_config({
        "run": {"name": "plain", "out_dir": str(d / "run"), "workers": 1},
        "sources": [{"name": "tickets", "kind": "classification", "format": "jsonl", "path": str(d / "tickets.jsonl")}],
        "dedup": {"semantic": {"enabled": False}},
    }))
    return d / "run"


def test_a_run_without_models_gets_a_funnel_and_says_why_models_are_missing(plain_run):
    html = (plain_run / "report.html").read_text()
    assert "Where did records go" in html and "No model was trained in this run" in html
    assert "Did each stage help?" not in html and "Where is the model weak?" not in html
    assert "split:&lt;variant&gt;" not in html  # no ablation, no word about its splits
    assert html.count("data:image/png;base64,") == 3  # funnel, reject reasons, lengths
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # self-contained: nothing fetched


def _model(run: Path, run_id: str, arm: str, seed: int, confusion: list[list[int]]) -> dict:
    model_dir = run / "models" / f"{arm}-{seed}"
    model_dir.mkdir(parents=True)
    (model_dir / "training.json").write_text(json.dumps({
        "confusion": {"labels": ["billing", "technical"], "matrix": confusion},
        "slices": {"label": {"billing": {"n": 6, "accuracy": 0.5 + seed / 10},
                             "technical": {"n": 4, "accuracy": 1.0}},
                   "source": {"tickets": {"n": 10, "accuracy": 0.7}}},
    }))
    variant = arm.removesuffix("~random")
    strata = {s: {"n": n, "macro_f1": 0.6} for s, n in zip(("exact", "near", "semantic", "none"), (1, 2, 0, 7))}
    return {"model_id": f"{arm}:s{seed}", "run_id": run_id, "task": "router", "variant": arm, "kind": "classification",
            "data_version": f"dv-{variant}", "train_fingerprint": "t", "validation_fingerprint": "v",
            "test_fingerprint": "test-1", "source_stage": "clean", "source_path": "", "split_path": "",
            "model_name": "minilm", "model_dir": str(model_dir), "n_train": 50, "n_validation": 10, "n_test": 10,
            "metrics": {"macro_f1": 0.6 + seed / 10, "accuracy": 0.7}, "baseline_metrics": None, "config_json": {},
            "code_version": "x", "seed": seed, "role": "random_control" if arm != variant else "variant",
            "control_of": variant if arm != variant else None, "train_seconds": 3.0, "train_tokens": 500,
            "leakage": strata}


@pytest.fixture()
def ablated_catalog(plain_run, tmp_path) -> Path:
    """The plain run's catalog with an ablation's models and effects added in a shuffled order."""
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(plain_run / "catalog.sqlite", run / "catalog.sqlite")
    catalog = Catalog(run)
    run_id = catalog.latest_run()["run_id"]
    for seed in (1, 0):
        for i, arm in enumerate(SHUFFLED):
            catalog.record_model(_model(run, run_id, arm, seed, [[5, 1], [i, 4 - i % 4]]))
    catalog.record_effects(run_id, [effect(a) for a in SHUFFLED])
    return run


def _order(html: str, names: list[str], pattern: str) -> list[str]:
    found = [(m.start(), n) for n in names for m in re.finditer(pattern.format(re.escape(n)), html)]
    return [n for _, n in sorted(found)]


def test_the_page_answers_its_questions_in_pipeline_order(ablated_catalog):
    # The config gives no ablation here (the plain run's): the effects chain gives the order.
    html = write_report(ablated_catalog).read_text()
    h2 = re.findall(r"<h2[^>]*>([^<]+)</h2>", html)
    assert h2[:4] == ["Where did records go", "Did each stage help?", "Where is the model weak?", "Models"]
    weak = html[html.index("id=weak>"):html.index("id=models>")]
    # Confusions side by side in one grid, one per variant (no controls), in pipeline order.
    grid = weak[weak.index("<div class=grid>"):]
    assert _order(grid, SHUFFLED, r'alt="confusion matrix of {}"') == VARIANTS
    # Slices: one table, a column per variant, a row per value of a slice with several values.
    header = re.search(r"<th>slice</th>.*?</tr>", weak).group(0)
    assert re.findall(r"<th[^>]*>([^<]+)</th>", header)[4:] == VARIANTS
    assert ">technical<" in weak and ">tickets<" not in weak  # one source: no contrast, no row
    assert ">billing</td><td class=n>6</td><td class=n>accuracy</td><td class=n>0.550</td>" in weak  # 2 seeds' mean
    for stratum in ("exact", "near", "semantic", "none"):
        assert f"<td>{stratum}</td>" in weak
    # Models: one row per arm with its seeds aggregated, in pipeline order, controls beside.
    models = html[html.index("id=models>"):]
    rows = re.findall(r"<tr[^>]*><td>([^<]+)</td><td class=n>(\d+)</td>", models)
    assert [r[0] for r in rows] == ["raw", "cleaned", "cleaned~random", "deduped", "deduped~random", "augmented",
                                    "augmented~random"]
    assert {r[1] for r in rows} == {"2"}
    assert "0.650<br><small class=muted>0.600–0.700</small>" in models  # mean, lowest–highest seed
    assert not re.search(r"\w=\d", re.sub(r"<[^>]+>", " ", models))  # no key=value strings


def test_main_metric_is_importable_where_it_always_was():
    assert main_metric("classification", {"accuracy": 0.5, "macro_f1": 0.25}) == ("macro_f1", 0.25)
    assert main_metric("instruction", {"perplexity": 3.0}) == ("perplexity", 3.0)
    assert main_metric("code", {}) is None
