"""The score step with the perplexity/IFD scorer under SmolLM2 (the offline package), end to end.

Fitting answers get a low IFD (the question makes the answer easy), answers moved to another
question an IFD near or above 1; a bound on IFD (the Cherry LLM rule, IFD <= 1) rejects the
moved ones. Scores are cached by content and scorer: deciding again scores nothing.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.score.helpers import PAIRS, mismatched, run_until_score, score_config, write_instructions

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    d = tmp_path_factory.mktemp("ppl")
    moved = mismatched(PAIRS)
    data = write_instructions(d / "qa.jsonl", PAIRS + moved)
    cfg = score_config(d, data, [{"name": "fit", "kind": "perplexity", "decide": {"score": "ifd", "max": 1.0}}])
    return d, data, cfg, run_until_score(cfg).output("score_fit")


def test_scores_are_columns_and_the_bound_decides(scored):
    _, _, _, out = scored
    kept, rejected = out.read_kept().to_pylist(), out.read_rejected().to_pylist()
    assert out.counts["in"] == len(kept) + len(rejected) == 2 * len(PAIRS)
    fitting = {q + a for q, a in PAIRS}
    for r in kept:
        assert r["score_fit_ppl"] > 1 and r["score_fit_ifd"] > 0 and r["score_fit_missing"] is None
        assert len(r["score_fit_by"]) == 16 and r["score_fit_at"].endswith("Z")
        assert r["score_fit_ifd"] <= 1.0
        assert r["operations"][-1]["op"] == "score_fit.score"
    # Every fitting answer is kept; most moved ones are caught (a moved answer can still be easy).
    assert fitting <= {r["prompt"] + r["response"] for r in kept}
    assert len(rejected) >= len(PAIRS) // 2
    for r in rejected:
        assert r["reason"] == "score_above_max" and r["detail"].startswith("score_fit_ifd=")
        rec = json.loads(r["record"])
        assert rec["prompt"] + rec["response"] not in fitting
    fit_ifd = [r["score_fit_ifd"] for r in kept if r["prompt"] + r["response"] in fitting]
    assert max(fit_ifd) < 0.8


def test_provenance_and_decision_are_written(scored):
    _, _, _, out = scored
    (pid, prov), = json.loads((out.path / "provenance.json").read_text()).items()
    assert prov["scorer"] == "perplexity" and prov["model"] == "smollm2" and prov["model_id"]
    assert pid == out.read_kept(columns=["score_fit_by"]).column(0)[0].as_py()
    decision = json.loads((out.path / "decision.json").read_text())
    assert decision["decides_on"] == "score_fit_ifd" and decision["scored"] == 2 * len(PAIRS)
    assert decision["rejected"] == {"score_above_max": out.counts["rejected"]}
    assert out.manifest["counters"]["scores:computed"] == 2 * len(PAIRS)


def test_a_new_decision_reuses_every_score(scored):
    """Top half by IFD, lowest first: the cache answers every record, the decision is new."""
    d, data, cfg, first = scored
    cfg = json.loads(json.dumps(cfg))
    cfg["score"]["scorers"][0]["decide"] = {"score": "ifd", "top_fraction": 0.5, "better": "low"}
    out = run_until_score(cfg).output("score_fit")
    assert out.manifest["counters"]["scores:computed"] == 0
    assert out.manifest["counters"]["scores:cached"] == 2 * len(PAIRS)
    kept = out.read_kept().to_pylist()
    assert len(kept) == len(PAIRS) and out.counts["rejected_by_reason"] == {"score_not_top": len(PAIRS)}
    ifds = sorted(r["score_fit_ifd"] for r in first.read_kept().to_pylist() + [
        {"score_fit_ifd": float(r["detail"].split("=")[1].split()[0])} for r in first.read_rejected().to_pylist()])
    assert max(r["score_fit_ifd"] for r in kept) == pytest.approx(ifds[len(PAIRS) - 1], rel=1e-3)
