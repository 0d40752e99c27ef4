"""Decisions on scores, apart from any model: bounds, top-k over all shards, missing scores."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.score.base import Output
from pipeline.score.config import Decision
from pipeline.score.decide import decide
from pipeline.score.stage import ShardScores

OUTS = (Output("a", "high"), Output("b", "low"))


def shard(a, failures=None, applies=None):
    n = len(a)
    values = np.column_stack([np.array(a, float), np.zeros(n)])
    return ShardScores(values, failures or [None] * n, np.zeros(n),
                       np.array(applies if applies is not None else [True] * n))


def flat(v):
    return [r for s in v.per_shard for r in s]


def test_top_k_ranks_across_shards_ties_go_to_the_earlier_record():
    v = flat(decide(Decision(top_k=3), "s", OUTS, [shard([1, 5, 3]), shard([5, 2, 4])]))
    assert [r is None for r in v] == [False, True, False, True, False, True]
    assert v[0][0] == "score_not_top" and "rank 6 of 6" in v[0][1]


def test_top_fraction_and_direction():
    v = flat(decide(Decision(top_fraction=0.5, better="low"), "s", OUTS, [shard([4, 1, 3, 2])]))
    assert [r is None for r in v] == [False, True, False, True]


def test_bounds_then_top_among_the_rest():
    v = flat(decide(Decision(min=2, top_k=1), "s", OUTS, [shard([1, 3, 2])]))
    assert v[0][0] == "score_below_min" and v[0][1] == "score_s_a=1 < min 2"
    assert v[1] is None and v[2][0] == "score_not_top"


def test_missing_scores_and_kinds_not_scored():
    s = shard([np.nan, np.nan, 3, 9], failures=["timeout", None, None, None], applies=[True, True, True, False])
    assert flat(decide(Decision(max=5), "s", OUTS, [s])) == [None, None, None, None]
    v = flat(decide(Decision(max=5, on_missing="reject"), "s", OUTS, [s]))
    assert v[0] == ("score_missing", "score_s: timeout") and v[1:] == [None, None, None]


def test_deciding_on_an_unknown_output_is_named():
    with pytest.raises(ValueError, match=r"decide.score 'c' is not an output of this scorer: \['a', 'b'\]"):
        decide(Decision(score="c"), "s", OUTS, [shard([1])])


def test_summary():
    summary = decide(Decision(score="a", top_k=2), "s", OUTS, [shard([1, 2, 3, 4])]).summary
    assert summary["decides_on"] == "score_s_a" and summary["cutoff"] == 3.0 and summary["scored"] == 4
    assert summary["rejected"] == {"score_not_top": 2} and summary["quantiles"]["0.5"] == 2.5
