"""The embedded demo on its real third-party data: every input record is accounted for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.demo.config import demo_config
from pipeline.demo.data import chatterbot_jsonl, data_home, spamassassin_dir

# The whole demo (three tasks trained, the spam classifier ablated over four data variants) runs
# in the first test's setup. The default suite runs it with two ablation seeds and 200 evaluation
# e-mails, which halves its 21 MiniLM trainings' time; the slow test at the end runs the README's
# command itself, three seeds and all.
pytestmark = pytest.mark.timeout(2400)
SEEDS = 2

if not chatterbot_jsonl(data_home()).exists() or not (spamassassin_dir(data_home()) / ".complete").exists():
    pytest.fail("demo data missing: run `bash scripts/setup.sh` (it installs it)", pytrace=False)


def run_demo(out: Path, config: Path | None = None) -> Path:
    args = ["--config", str(config)] if config else []
    res = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--engine", "local", "--out", str(out), *args],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-5000:]
    assert "report.html" in res.stdout
    return out


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """The whole demo (local engine): stages, training, ablation; the demo's config written to a
    file with a lighter ablation (SEEDS seeds, 200 evaluation e-mails)."""
    folder = tmp_path_factory.mktemp("demo")
    raw = demo_config(folder / "run").model_dump(mode="json")
    raw["ablation"]["seeds"] = SEEDS
    spam = next(t for t in raw["train"] if t["name"] == "spam")
    spam["train"]["max_eval_records"] = 200
    (folder / "demo.yaml").write_text(yaml.safe_dump(raw))
    return run_demo(folder / "run", folder / "demo.yaml")


def test_demo_run_accounts_for_every_record_and_inspect_shows_reasons(demo_run):
    out = demo_run
    manifests = {json.loads(m.read_text())["stage"]: json.loads(m.read_text())
                 for m in (out / "stages").glob("*/manifest.json") if "split" not in m.parent.name}
    augmenters = ["augment_back_translation", "augment_synonym", "augment_synonym_email",
                  "augment_rename_identifiers", "augment_add_docstring", "augment_refactor"]
    assert set(manifests) == {"collect", "clean", "dedup_exact", "dedup_near", "dedup_semantic", "decontam_ngram",
                              *augmenters}
    for m in manifests.values():
        c = m["counts"]
        assert c["in"] + c.get("generated", 0) == c["kept"] + c["rejected"]
        assert c["rejected"] == sum(c["rejected_by_reason"].values())
        stage_dir = out / "stages" / f"{m['stage']}-{m['key']}"
        assert pq.read_table(stage_dir / "kept", columns=["id"]).num_rows == c["kept"]
        assert pq.read_table(stage_dir / "rejected", columns=["reason"]).num_rows == c["rejected"]
    assert manifests["clean"]["counts"]["in"] == manifests["collect"]["counts"]["kept"]
    chain = ["clean", "dedup_exact", "dedup_near", "dedup_semantic", "decontam_ngram", *augmenters]
    for before, after in zip(chain, chain[1:]):
        assert manifests[after]["counts"]["in"] == manifests[before]["counts"]["kept"]
    # The real corpora hold duplicates: SpamAssassin resends, chatterbot repeats its turns.
    assert manifests["dedup_exact"]["counts"]["rejected"] > 0 and manifests["dedup_near"]["counts"]["rejected"] > 0
    assert manifests["dedup_exact"]["counters"]["reference:humaneval:records"] == 164
    assert manifests["decontam_ngram"]["counters"]["reference_ngrams"] > 10_000  # HumanEval's 164 problems
    for level in chain[1:5]:
        stage_dir = out / "stages" / f"{level}-{manifests[level]['key']}"
        for r in pq.read_table(stage_dir / "rejected").to_pylist():
            assert r["duplicate_of"] and r["similarity"] is not None, r["reason"]

    # Collection read every unit of the three real sources: each chatterbot line, each e-mail file.
    collect = manifests["collect"]
    kept = pq.read_table(out / "stages" / f"collect-{collect['key']}" / "kept", columns=["source", "kind"])
    rejected = pq.read_table(out / "stages" / f"collect-{collect['key']}" / "rejected", columns=["source"])
    per_source = {}
    for t in (kept, rejected):
        for s in t.column("source").to_pylist():
            per_source[s] = per_source.get(s, 0) + 1
    chat_lines = sum(1 for line in chatterbot_jsonl(data_home()).read_text().splitlines() if line.strip())
    emails = sum(1 for p in spamassassin_dir(data_home()).rglob("*.eml"))
    assert per_source["chatterbot"] == chat_lines > 2000
    assert per_source["spamassassin"] == emails > 6000
    assert per_source["stdlib"] > 3000
    assert set(kept.column("kind").to_pylist()) == {"instruction", "code", "classification"}
    assert (out / "report.html").read_text().count("<h2 ") >= 3

    shown = subprocess.run([sys.executable, "-m", "pipeline.cli", "inspect", str(out), "--examples", "2"],
                           capture_output=True, text=True, check=True).stdout
    for reason in list(collect["counts"]["rejected_by_reason"]) + list(manifests["clean"]["counts"]["rejected_by_reason"]):
        assert reason in shown
    assert "english.jsonl:" in shown  # examples name file and line

    # Augmentation: every augmenter made and kept records of its kinds; inspect shows each.
    for stage in augmenters:
        assert manifests[stage]["counters"]["kept_generated"] > 0, stage
        assert f"{stage.removeprefix('augment_')} (" in shown
    assert "augment: per augmenter" in shown
    spam = manifests["augment_synonym_email"]["counters"]
    assert spam["budget:kept_label:spam"] > 0 and "budget:kept_label:ham" not in spam


def test_demo_ablation_measures_each_stage_with_seeds_and_random_controls(demo_run):
    from pipeline.catalog import Catalog

    catalog = Catalog(demo_run)
    run_id = catalog.latest_run()["run_id"]
    by_task: dict[str, dict[str, list[dict]]] = {}
    for m in catalog.models(run_id):
        by_task.setdefault(m["task"], {}).setdefault(m["variant"], []).append(m)
    assert set(by_task) == {"spam", "chat", "docstring-to-code"}
    # Chat and code are trained once on the current data; the spam classifier is ablated.
    assert set(by_task["chat"]) == set(by_task["docstring-to-code"]) == {"current"}
    spam = by_task["spam"]
    variants = ["raw", "cleaned", "deduped", "augmented"]
    assert set(variants) <= set(spam)
    for v in variants:
        assert sorted(m["seed"] for m in spam[v]) == list(range(SEEDS))
    ablated = [m for v, ms in spam.items() if v != "current" for m in ms]
    assert len({m["test_fingerprint"] for m in ablated}) == 1
    controls = {v: ms for v, ms in spam.items() if v.endswith("~random")}
    assert controls  # at least one stage changed the number of records
    for v, ms in controls.items():
        assert {m["n_train"] for m in ms} == {spam[v.removesuffix("~random")][0]["n_train"]}
    effects = [e for e in catalog.effects(run_id) if e["metric"] == "macro_f1"]
    assert [e["variant"] for e in effects if e["role"] == "variant"] == variants
    for e in effects:
        assert e["low"] <= e["value"] <= e["high"] and e["n_seeds"] == SEEDS
        if e["variant"] != "raw":
            assert e["vs_previous"]["verdict"] in ("helps", "hurts", "can't tell at this size")
    for e in effects:  # each stage against its random control, when its size differs from the one before
        if e["role"] == "variant" and e["variant"] != "raw":
            assert (e["vs_control"] is not None) == (f"{e['variant']}~random" in spam)
    assert by_task["spam"]["current"][0]["metrics"]["macro_f1"] > 0.8
    assert sum(by_task["spam"]["raw"][0]["leakage"][s]["n"] for s in ("exact", "near", "semantic", "none")) == \
        by_task["spam"]["raw"][0]["n_test"]
    chat = by_task["chat"]["current"][0]
    assert chat["metrics"]["perplexity"] > 1 and 0 <= chat["metrics"]["rouge_l"] <= 1
    split_manifest = next(json.loads(m.read_text()) for m in (demo_run / "stages").glob("split-*/manifest.json"))
    assert split_manifest["counters"]["leakage:test_exact_in_train"] == 0
    assert split_manifest["counters"]["groups:straddling"] == 0
    html = (demo_run / "report.html").read_text()
    assert "Did each stage help?" in html and "random control" in html
    assert html.count("data:image/png;base64,") >= 6


def test_demo_config_is_valid_and_names_three_kinds():
    cfg = demo_config("/tmp/unused")
    assert {s.kind for s in cfg.sources} == {"instruction", "code", "classification"}
    assert Path(cfg.sources[1].path).is_dir()


@pytest.mark.slow
def test_the_readme_command_runs_the_demo_with_three_seeds(tmp_path):
    from pipeline.catalog import Catalog

    out = run_demo(tmp_path / "run")
    catalog = Catalog(out)
    effects = catalog.effects(catalog.latest_run()["run_id"])
    assert effects and all(e["n_seeds"] == 3 for e in effects)
