"""The bootstrap intervals of pipeline/experiments/stats.py against known cases."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.experiments.stats import HELPS, HURTS, METRICS, UNCLEAR, Bootstrap, Interval, verdict
from pipeline.train.metrics import classification_report


def labelled(n: int, k: int, right: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < right, true, rng.integers(0, k, n))
    return {"true": true, "pred": pred}


def test_accuracy_interval_matches_the_normal_approximation():
    n, p = 4000, 0.8
    items = {"true": np.zeros(n, int), "pred": (np.arange(n) >= n * p).astype(int)}  # exactly 80% right
    got = Bootstrap(n, 1, resamples=4000, seed=1).estimate(METRICS["accuracy"], [items])
    half = 1.96 * np.sqrt(p * (1 - p) / n)  # 0.0124
    assert got.value == pytest.approx(p)
    assert got.low == pytest.approx(p - half, abs=0.002) and got.high == pytest.approx(p + half, abs=0.002)


def test_macro_f1_of_a_resample_is_that_of_the_repeated_items():
    items = labelled(300, 4, 0.6, 0)
    boot = Bootstrap(300, 1, resamples=5, seed=2)
    got = METRICS["macro_f1"].compute(items, boot.weights)
    for row, value in zip(boot.weights.astype(int), got):
        idx = np.repeat(np.arange(300), row)
        expected = classification_report(items["true"][idx].tolist(), items["pred"][idx].tolist(), list("abcd"))
        assert value == pytest.approx(expected["macro_f1"])
    full = METRICS["macro_f1"].compute(items, np.ones((1, 300)))[0]
    assert full == pytest.approx(classification_report(items["true"].tolist(), items["pred"].tolist(),
                                                       list("abcd"))["macro_f1"])


def test_seeds_widen_the_interval_and_the_value_is_their_mean():
    seeds = [labelled(500, 3, right, 7) for right in (0.5, 0.7, 0.9)]  # seeds that disagree a lot
    boot = Bootstrap(500, 3, seed=3)
    one = Bootstrap(500, 1, seed=3).estimate(METRICS["accuracy"], seeds[1:2])
    many = boot.estimate(METRICS["accuracy"], seeds)
    assert many.value == pytest.approx(np.mean([(s["true"] == s["pred"]).mean() for s in seeds]))
    assert many.high - many.low > 2 * (one.high - one.low)


def test_paired_difference_and_verdicts():
    base = labelled(800, 3, 0.6, 11)
    better = {"true": base["true"], "pred": np.where(np.arange(800) % 4 == 0, base["true"], base["pred"])}
    boot = Bootstrap(800, 2, seed=5)
    same = boot.difference(METRICS["accuracy"], [base, base], [base, base])
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0) and verdict(same, True) == UNCLEAR
    up = boot.difference(METRICS["accuracy"], [better, better], [base, base])
    assert up.low > 0 and verdict(up, True) == HELPS and verdict(up, False) == HURTS
    assert verdict(Interval(-0.1, -0.2, -0.01), True) == HURTS


def test_perplexity_is_token_weighted_and_lower_is_better():
    items = {"loss_sum": np.array([2.0, 6.0]), "tokens": np.array([1, 3])}
    assert METRICS["test_perplexity"].compute(items, np.ones((1, 2)))[0] == pytest.approx(np.exp(2.0))
    assert not METRICS["test_perplexity"].higher_is_better


def test_recovered_share_of_the_damage():
    n = 1000
    true = np.zeros(n, int)
    arm = lambda right: {"true": true, "pred": (np.arange(n) >= right * n).astype(int)}  # noqa: E731
    boot = Bootstrap(n, 2, seed=1)
    got = boot.recovered(METRICS["accuracy"], [arm(0.8)] * 2, [arm(0.6)] * 2, [arm(1.0)] * 2)
    assert got.value == pytest.approx(0.5)  # 0.6 -> 0.8 of 0.6 -> 1.0
    assert got.low < 0.5 < got.high and got.high - got.low < 0.2
