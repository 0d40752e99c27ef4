"""The planted-defect benchmark end to end on a small sample of Brown passages: the real pipeline,
the real review selection, and the TF-IDF and embedding-head models on every arm."""

from __future__ import annotations

import json

import pytest

from pipeline.defects.config import DefectBenchConfig
from pipeline.workflows.planted_defects import run_defect_bench

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("defects")
    cfg = DefectBenchConfig(max_items=300, per_group=2, seeds=2, models=["tfidf", "head"], out_dir=str(out),
                            resamples=200, pipeline={"clean": {"quality": {"words": {"min": 20}}}})
    got = run_defect_bench(cfg, say=lambda _: None)
    assert json.loads((out / "defects_report.json").read_text())["arms"] == got["arms"]
    return got


def test_arms_are_size_matched_and_review_corrects_labels(report):
    arms = report["arms"]
    assert arms["curated~random"] == arms["curated"] == arms["relabelled"] == arms["relabelled~random"]
    assert arms["corrupted"] > arms["curated"]
    wrong = report["wrong_labels"]
    assert wrong["clean"] == 0 and wrong["corrupted"] > 0.1  # 20% of the clean train items flipped
    # The reviewer restores every flip it is shown: what is left is what the selection missed.
    flips_fixed = report["review"]["flips_selected"]
    assert flips_fixed > 0
    assert wrong["relabelled"] == pytest.approx(wrong["curated"] - flips_fixed / arms["curated"])
    assert wrong["relabelled~random"] < wrong["curated"]


def test_every_family_scores_every_arm_with_intervals_and_recovery(report):
    models = report["models"]
    assert set(models) == {"tfidf", "head"}
    assert models["tfidf"]["seeds"] == 1 and models["head"]["seeds"] == 2
    assert len(models["head"]["runs"]) == 2 * len(report["arms"])
    for m in models.values():
        f1 = {e["variant"]: e for e in m["effects"] if e["metric"] == "macro_f1"}
        assert list(f1) == list(report["arms"])  # in the benchmark's order
        for e in f1.values():
            assert e["low"] <= e["value"] <= e["high"]
        assert f1["corrupted"]["vs_previous"]["other"] == "clean"
        assert f1["relabelled"]["vs_previous"]["other"] == "curated"
        assert f1["relabelled"]["vs_control"]["other"] == "relabelled~random"
        assert set(m["recovered"]) == {"curated", "relabelled"}
    # The head learned the genres: far above the 0.25 of guessing among four.
    assert next(e for e in models["head"]["effects"] if e["variant"] == "clean")["value"] > 0.35


def test_a_score_is_an_arm_against_its_random_control(tmp_path):
    """Flagged words (no model to load) with a top fraction: what it rejected per planted kind, and
    its arm beside a random cut of the curated records to the same size."""
    cfg = DefectBenchConfig(max_items=120, per_group=2, seeds=2, models=["tfidf"], out_dir=str(tmp_path),
                            resamples=100, pipeline={
                                "clean": {"quality": {"words": {"min": 20}}},
                                "dedup": {"semantic": {"enabled": False}},
                                "score": {"enabled": True, "scorers": [
                                    {"name": "flag", "kind": "flagged_words",
                                     "decide": {"top_fraction": 0.8, "better": "low"}}]}})
    report = run_defect_bench(cfg, say=lambda _: None)
    arms = report["arms"]
    assert arms["score_flag"] == arms["score_flag~random"] == round(0.8 * arms["curated"])
    catches = report["score_catches"]["score_flag"]
    assert sum(c["in"] for c in catches.values()) == arms["curated"]
    assert sum(c["rejected"] for c in catches.values()) == arms["curated"] - arms["score_flag"]
    f1 = {e["variant"]: e for e in report["models"]["tfidf"]["effects"] if e["metric"] == "macro_f1"}
    assert f1["score_flag"]["vs_previous"]["other"] == "curated"
