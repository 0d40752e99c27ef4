"""Test metrics with their uncertainty: a bootstrap over test items and training seeds.

A model's score on one test split moves with the items that happen to be in it and with the seed
it was trained with. Each resample draws the test items with replacement (the same draw for every
arm compared, so differences are paired) and the seeds with replacement (seed k of one arm is
paired with seed k of the other: the same initialisation and data order), and scores each arm as
the mean over its drawn seeds of the metric on the drawn items. The 2.5th and 97.5th percentiles
of the resampled values are the 95% interval (percentile bootstrap).

Metrics are computed from per-item columns and a (resamples x items) weight matrix of draw counts,
so a thousand resamples of a macro-F1 are one matrix product, not a thousand Python loops.
Definitions follow `pipeline.train.metrics` (macro-F1 over the labels that occur in the true or
predicted labels, 0/0 = 0; perplexity = exp of the token-weighted mean loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Columns = dict[str, np.ndarray]  # one trained model's per-test-item values, aligned by test item


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(np.shape(num), np.nan), where=den > 0)


def _accuracy(c: Columns, w: np.ndarray) -> np.ndarray:
    return _ratio(w @ (c["true"] == c["pred"]).astype(float), w.sum(axis=1))


def _macro_f1(c: Columns, w: np.ndarray) -> np.ndarray:
    k = int(max(c["true"].max(initial=0), c["pred"].max(initial=0))) + 1
    cell = np.zeros((len(c["true"]), k * k))
    cell[np.arange(len(c["true"])), c["true"] * k + c["pred"]] = 1.0
    confusion = (w @ cell).reshape(len(w), k, k)  # rows true, columns predicted
    tp = np.diagonal(confusion, axis1=1, axis2=2)
    support, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    precision, recall = np.nan_to_num(precision), np.nan_to_num(recall)
    f1 = np.nan_to_num(_ratio(2 * precision * recall, precision + recall))
    occurring = (support + predicted) > 0
    return _ratio((f1 * occurring).sum(axis=1), occurring.sum(axis=1).astype(float))


def _mean_of(column: str) -> Callable[[Columns, np.ndarray], np.ndarray]:
    def metric(c: Columns, w: np.ndarray) -> np.ndarray:
        present = ~np.isnan(c[column])
        return _ratio(w @ np.where(present, c[column], 0.0), w @ present.astype(float))
    return metric


def _perplexity(c: Columns, w: np.ndarray) -> np.ndarray:
    return np.exp(_ratio(w @ c["loss_sum"], w @ c["tokens"].astype(float)))


@dataclass(frozen=True)
class Metric:
    name: str
    compute: Callable[[Columns, np.ndarray], np.ndarray]
    higher_is_better: bool
    needs: tuple[str, ...]


METRICS = {m.name: m for m in (
    Metric("macro_f1", _macro_f1, True, ("true", "pred")),
    Metric("accuracy", _accuracy, True, ("true", "pred")),
    Metric("test_perplexity", _perplexity, False, ("loss_sum", "tokens")),
    Metric("rouge_l", _mean_of("score"), True, ("score",)),
    Metric("exact_match", _mean_of("score"), True, ("score",)),
    Metric("code_pass_rate", _mean_of("code_passed"), True, ("code_passed",)),
)}


@dataclass(frozen=True)
class Interval:
    value: float  # over all test items, the mean of the seeds
    low: float
    high: float

    def to_json(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


HELPS, HURTS, UNCLEAR = "helps", "hurts", "can't tell at this size"


def verdict(difference: Interval, higher_is_better: bool) -> str:
    """helps / hurts when the interval of (this - other) excludes 0, else can't tell."""
    if difference.low > 0:
        return HELPS if higher_is_better else HURTS
    if difference.high < 0:
        return HURTS if higher_is_better else HELPS
    return UNCLEAR


class Bootstrap:
    """One set of resamples (item draws and seed draws) shared by every arm it scores, so
    intervals of differences between arms are paired."""

    def __init__(self, n_items: int, n_seeds: int, resamples: int = 1000, confidence: float = 0.95,
                 seed: int = 0) -> None:
        if n_items < 1 or n_seeds < 1:
            raise ValueError(f"a bootstrap needs test items and seeds, got {n_items} items, {n_seeds} seeds")
        rng = np.random.default_rng(seed)
        self.weights = rng.multinomial(n_items, np.full(n_items, 1.0 / n_items), size=resamples).astype(float)
        self.seed_draws = rng.integers(0, n_seeds, size=(resamples, n_seeds))
        self.n_items, self.n_seeds, self.confidence = n_items, n_seeds, confidence

    def _resampled(self, metric: Metric, seeds: list[Columns]) -> tuple[float, np.ndarray]:
        if len(seeds) != self.n_seeds:
            raise ValueError(f"expected {self.n_seeds} seeds, got {len(seeds)}")
        ones = np.ones((1, self.n_items))
        point = float(np.mean([metric.compute(c, ones)[0] for c in seeds]))
        per_seed = np.stack([metric.compute(c, self.weights) for c in seeds])  # (seeds, resamples)
        drawn = per_seed[self.seed_draws, np.arange(len(self.weights))[:, None]]  # (resamples, seeds)
        return point, drawn.mean(axis=1)

    def _interval(self, point: float, values: np.ndarray) -> Interval:
        tail = (1 - self.confidence) / 2 * 100
        low, high = np.nanpercentile(values, [tail, 100 - tail])
        return Interval(point, float(low), float(high))

    def estimate(self, metric: Metric, seeds: list[Columns]) -> Interval:
        return self._interval(*self._resampled(metric, seeds))

    def difference(self, metric: Metric, seeds: list[Columns], other: list[Columns]) -> Interval:
        """this - other, paired by item draw and seed position."""
        a, ra = self._resampled(metric, seeds)
        b, rb = self._resampled(metric, other)
        return self._interval(a - b, ra - rb)

    def recovered(self, metric: Metric, fixed: list[Columns], broken: list[Columns], clean: list[Columns]) -> Interval:
        """(fixed - broken) / (clean - broken): the share of the damage to `metric` that `fixed`
        recovers, with its interval (resamples where clean and broken tie are left out)."""
        f, rf = self._resampled(metric, fixed)
        b, rb = self._resampled(metric, broken)
        c, rc = self._resampled(metric, clean)
        damage = rc - rb
        share = np.divide(rf - rb, damage, out=np.full_like(damage, np.nan), where=damage != 0)
        return self._interval((f - b) / (c - b) if c != b else float("nan"), share)
