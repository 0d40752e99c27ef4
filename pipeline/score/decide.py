"""Deciding on scores: bounds, top-k over the whole input, and what a missing score means.

Kept apart from scoring, so a decision can change without scoring again (the scores are
cached), and so the ablation's "top-k by score" arm is just a decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from pipeline.score.base import Output
from pipeline.score.config import Decision

Reason = tuple[str, str] | None


@dataclass
class Verdicts:
    per_shard: list[list[Reason]]  # None: kept; else (reason, detail)
    summary: dict[str, Any]


def decide(d: Decision, name: str, outputs: Sequence[Output], shards: Sequence[Any]) -> Verdicts:
    """Each record's verdict; `shards` hold values (n, k), failures and applies, in input order."""
    names = [o.name for o in outputs]
    column = d.score or names[0]
    if column not in names:
        raise ValueError(f"score.{name}.decide.score {column!r} is not an output of this scorer: {names}")
    j = names.index(column)
    better = d.better or outputs[j].better
    label = f"score_{name}_{column}"
    values = np.concatenate([s.values[:, j] for s in shards]) if shards else np.empty(0)
    failures = [f for s in shards for f in s.failures]
    applies = np.concatenate([s.applies for s in shards]) if shards else np.empty(0, bool)
    reasons: list[Reason] = [None] * len(values)
    eligible = []
    for i in np.flatnonzero(applies):
        if failures[i] is not None:
            if d.on_missing == "reject":
                reasons[i] = ("score_missing", f"score_{name}: {failures[i]}")
            continue
        v = values[i]
        if math.isnan(v):  # this output does not apply (IFD of a text without a prompt)
            continue
        if d.min is not None and v < d.min:
            reasons[i] = ("score_below_min", f"{label}={v:.4g} < min {d.min:g}")
        elif d.max is not None and v > d.max:
            reasons[i] = ("score_above_max", f"{label}={v:.4g} > max {d.max:g}")
        else:
            eligible.append(int(i))
    cutoff = _top(d, values, eligible, better, label, reasons)
    per_shard, start = [], 0
    for s in shards:
        per_shard.append(reasons[start:start + len(s.applies)])
        start += len(s.applies)
    scored = values[np.flatnonzero(applies)]
    scored = scored[~np.isnan(scored)]
    summary = {"decides_on": label, "better": better, "decision": d.model_dump(mode="json"),
               "scored": int(len(scored)), "missing": int(sum(f is not None for f in failures)),
               "cutoff": cutoff, "rejected": _count(reasons),
               "quantiles": ({q: float(np.quantile(scored, float(q))) for q in ("0.05", "0.25", "0.5", "0.75", "0.95")}
                             if len(scored) else {})}
    return Verdicts(per_shard, summary)


def _top(d: Decision, values: np.ndarray, eligible: list[int], better: str, label: str,
         reasons: list[Reason]) -> float | None:
    """Reject the eligible records outside the best k (ties: earlier records first)."""
    if not d.selects_top or not eligible:
        return None
    k = d.top_k if d.top_k is not None else int(round(float(d.top_fraction or 0) * len(eligible)))
    k = min(k, len(eligible))
    sign = -1.0 if better == "high" else 1.0
    order = sorted(eligible, key=lambda i: (sign * values[i], i))
    cutoff = float(values[order[k - 1]]) if k else None
    for rank, i in enumerate(order[k:], k + 1):
        reasons[i] = ("score_not_top", f"{label}={values[i]:.4g}: rank {rank} of {len(order)}, the best {k} kept "
                      f"({'>=' if better == 'high' else '<='} {cutoff if cutoff is None else f'{cutoff:.4g}'})")
    return cutoff


def _count(reasons: list[Reason]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in reasons:
        if r is not None:
            out[r[0]] = out.get(r[0], 0) + 1
    return out
