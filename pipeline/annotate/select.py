"""Which records an annotator should see first, within a budget per reason for looking.

Annotation time is the scarce resource, so each strategy ranks the records it finds worth a human
look (the model is unsure, the label looks wrong, dedup nearly merged two records, an augmented
record barely passed a gate, or a random audit) and takes at most its budget. Strategies run in
the configured order: a record an earlier one took is not taken again, but the later strategy's
reason is added to it, so the annotator sees every reason. Records already pushed are skipped
without using budget. Every ranking breaks ties by id, so a selection is reproducible, and
`counts` accounts for every eligible record: selected, or skipped and why.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Literal

import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from pipeline.config_base import Strict, require_unique

StrategyName = Literal["least_confident", "label_errors", "near_duplicates", "augment_borderline", "random"]
# The parameters each strategy reads; setting another one is a mistake worth failing on.
_PARAMS: dict[str, set[str]] = {"least_confident": {"max_confidence"}, "label_errors": set(),
                                "near_duplicates": {"margin", "threshold"}, "augment_borderline": {"margin"},
                                "random": set()}
# The input each strategy ranks from, as named in select_records' arguments.
NEEDS = {"least_confident": "predictions", "label_errors": "predictions", "near_duplicates": "pairs",
          "augment_borderline": "candidates"}
SELECTED_SCHEMA = pa.schema([("id", pa.string()), ("strategy", pa.string()), ("strategies", pa.string()),
                             ("score", pa.float64()), ("reason", pa.string()), ("context_id", pa.string())])
COUNT_KEYS = ("eligible", "selected", "already_selected", "skipped_already_pushed", "skipped_over_budget",
              "skipped_over_max_tasks")


class StrategyConfig(Strict):
    name: StrategyName
    budget: int = Field(ge=0, description="at most this many records newly selected by this strategy")
    max_confidence: float = Field(default=1.0, gt=0, le=1,
                                  description="least_confident: only records whose confidence is below this")
    margin: float = Field(default=0.1, ge=0, description="near_duplicates: similarity within threshold ± margin; "
                          "augment_borderline: a gate score within margin of the gate's bound")
    threshold: float | None = Field(default=None, ge=0, le=1, description="near_duplicates: the dedup threshold; "
                                    "None: take the pairs dedup marked borderline")

    @model_validator(mode="after")
    def _only_own_params(self) -> "StrategyConfig":
        # Set to a non-default value: a dumped config (every field present) still loads.
        stray = sorted(k for k in (self.model_fields_set - {"name", "budget"}) - _PARAMS[self.name]
                       if getattr(self, k) != type(self).model_fields[k].default)
        if stray:
            raise ValueError(f"strategy {self.name} does not use {stray}")
        return self


class SelectConfig(Strict):
    strategies: list[StrategyConfig] = Field(min_length=1, description="applied in order; earlier ones win")
    max_tasks: int | None = Field(default=None, ge=0, description="cap on all strategies together")
    seed: int = Field(default=0, ge=0, description="orders the random audit")

    @field_validator("strategies")
    @classmethod
    def _unique(cls, v: list[StrategyConfig]) -> list[StrategyConfig]:
        require_unique([s.name for s in v], "strategy")
        return v


@dataclass
class Pick:
    """One record a strategy would like shown: its priority (higher first) and why."""

    id: str
    score: float
    reason: str
    context_id: str | None = None


def ranked(picks: Iterable[Pick]) -> list[Pick]:
    """Highest score first, ties by id; a record named twice keeps its best pick."""
    best: dict[str, Pick] = {}
    for p in sorted(picks, key=lambda p: (-p.score, p.id)):
        best.setdefault(p.id, p)
    return list(best.values())


def least_confident(predictions: pa.Table, max_confidence: float) -> list[Pick]:
    picks = []
    for r in predictions.to_pylist():
        c = r["confidence"]
        if c is None or c >= max_confidence:
            continue  # unscored (e.g. the prompt alone was too long) or confident enough
        what = f"p({r['predicted']})={c:.2f}" if r["predicted"] is not None else f"answer likelihood {c:.2f}"
        picks.append(Pick(r["id"], 1.0 - c, f"least confident: {what}"))
    return ranked(picks)


def class_thresholds(given: list[str], probs: list[dict[str, float]]) -> dict[str, float]:
    """t_j: the mean probability of class j over the records labelled j (classes seen as a given label)."""
    sums: dict[str, list[float]] = {}
    for y, p in zip(given, probs):
        if y in p:
            sums.setdefault(y, []).append(p[y])
    return {j: sum(v) / len(v) for j, v in sums.items()}


def label_errors(table: pa.Table, predictions: pa.Table) -> list[Pick]:
    """Confident learning (Northcutt et al. 2021): records whose confident class is not their label.

    A record's confident class is the most probable of the classes whose probability reaches that
    class's threshold t_j; per-class thresholds keep a model that is timid about one class from
    flagging every record of it. Ranked by how much more the model believes k than the given label.
    """
    labels = {r["id"]: r["label"] for r in table.select(["id", "kind", "label"]).to_pylist()
              if r["kind"] == "classification" and r["label"] is not None}
    rows = [(r["id"], labels[r["id"]], json.loads(r["probs"])) for r in predictions.to_pylist()
            if r["id"] in labels and r["probs"]]
    t = class_thresholds([y for _, y, _ in rows], [p for _, _, p in rows])
    picks = []
    for rid, y, p in rows:
        above = [j for j in sorted(p) if j in t and p[j] >= t[j]]
        if not above or y not in p:
            continue  # a label the model was not trained on is not its call
        k = max(above, key=lambda j: p[j])
        if k != y:
            picks.append(Pick(rid, p[k] - p[y], f"likely label error: given {y!r} p={p[y]:.2f}, "
                                                f"model says {k!r} p={p[k]:.2f}"))
    return ranked(picks)


def near_duplicates(pairs: pa.Table, margin: float, threshold: float | None) -> list[Pick]:
    """Both members of pairs dedup nearly decided the other way, closest to the threshold first."""
    picks = []
    for r in pairs.to_pylist():
        s = r["similarity"]
        if threshold is None:
            if r["decision"] != "borderline":
                continue
            score, note = s, "borderline"  # just under an unknown threshold: the most similar are the closest
        else:
            if r["decision"] != "borderline" and abs(s - threshold) > margin:
                continue
            score, note = 1.0 - abs(s - threshold), f"threshold {threshold:.2f}"
        for me, other in ((r["id_a"], r["id_b"]), (r["id_b"], r["id_a"])):
            picks.append(Pick(me, score, f"near-duplicate of {other[:8]} (similarity {s:.2f}, {note})", other))
    return ranked(picks)


def default_gates() -> dict[str, tuple[float | None, float | None]]:
    """The augment stage's default text gates, as (min, max) per score column."""
    from pipeline.augment.config import GatesConfig

    g = GatesConfig()
    return {"similarity": (g.similarity.min, g.similarity.max),
            "length_ratio": (g.length_ratio.min, g.length_ratio.max)}


def augment_borderline(candidates: pa.Table, margin: float, gates: dict[str, Any]) -> list[Pick]:
    """Kept augmented records with a gate score within `margin` of the gate's bound, closest first."""
    missing = sorted(set(gates) - set(candidates.column_names))
    if missing:
        raise ValueError(f"gates {missing} have no score column in candidates")
    picks = []
    for r in candidates.to_pylist():
        if r["decision"] != "kept":
            continue
        near = [(abs(r[gate] - bound), gate, bound) for gate, bounds in sorted(gates.items()) if r[gate] is not None
                for bound in bounds if bound is not None and abs(r[gate] - bound) <= margin]
        if near:
            distance, gate, bound = min(near)
            picks.append(Pick(r["id"], 1.0 - distance, f"augmented by {r['augmenter']}: {gate} {r[gate]:.2f} "
                                                       f"near the {bound:.2f} bound", r["parent_id"]))
    return ranked(picks)


def random_audit(ids: Iterable[str], seed: int) -> list[Pick]:
    """A hash of (seed, id) orders the records, so a record keeps its place as the table grows."""
    def draw(rid: str) -> float:
        digest = hashlib.blake2b(f"{seed}\x1f{rid}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2 ** 64

    return ranked(Pick(rid, draw(rid), "random audit") for rid in ids)


def select_records(table: pa.Table, config: SelectConfig, predictions: pa.Table | None = None,
                   pairs: pa.Table | None = None, candidates: pa.Table | None = None, gates: dict | None = None,
                   exclude: set[str] | None = None) -> tuple[pa.Table, dict[str, Any]]:
    """(selected records in priority order, per-strategy counts plus `total_selected`)."""
    inputs = {"predictions": predictions, "pairs": pairs, "candidates": candidates}
    for s in config.strategies:
        if s.name in NEEDS and inputs[NEEDS[s.name]] is None:
            raise ValueError(f"strategy {s.name} needs `{NEEDS[s.name]}`, which was not given")
    present, exclude = table.column("id").to_pylist(), exclude or set()
    in_table = set(present)
    chosen: dict[str, dict[str, Any]] = {}  # insertion order is priority order
    counts: dict[str, Any] = {}
    for s in config.strategies:
        if s.name == "random":
            picks = random_audit((i for i in present if i not in chosen), config.seed)
        else:
            picks = [p for p in _picks(s, table, predictions, pairs, candidates, gates) if p.id in in_table]
        counts[s.name] = _apply(s, picks, chosen, exclude, config.max_tasks)
    counts["total_selected"] = len(chosen)
    rows = [{**row, "strategies": ",".join(row["strategies"]), "reason": "; ".join(row["reason"])}
            for row in chosen.values()]
    return pa.Table.from_pylist(rows, schema=SELECTED_SCHEMA), counts


def _picks(s: StrategyConfig, table: pa.Table, predictions: pa.Table | None, pairs: pa.Table | None,
           candidates: pa.Table | None, gates: dict | None) -> list[Pick]:
    if s.name == "least_confident":
        return least_confident(predictions, s.max_confidence)
    if s.name == "label_errors":
        return label_errors(table, predictions)
    if s.name == "near_duplicates":
        return near_duplicates(pairs, s.margin, s.threshold)
    return augment_borderline(candidates, s.margin, default_gates() if gates is None else gates)


def _apply(s: StrategyConfig, picks: list[Pick], chosen: dict[str, dict[str, Any]], exclude: set[str],
           max_tasks: int | None) -> dict[str, int]:
    """Walk one strategy's ranking: select, add its reason to an earlier pick, or count why not."""
    n = dict.fromkeys(COUNT_KEYS, 0)
    n["eligible"] = len(picks)
    for p in picks:
        if p.id in exclude:
            n["skipped_already_pushed"] += 1
        elif p.id in chosen:
            row = chosen[p.id]
            row["strategies"].append(s.name)
            row["reason"].append(p.reason)
            n["already_selected"] += 1
        elif n["selected"] >= s.budget:
            n["skipped_over_budget"] += 1
        elif max_tasks is not None and len(chosen) >= max_tasks:
            n["skipped_over_max_tasks"] += 1
        else:
            chosen[p.id] = {"id": p.id, "strategy": s.name, "strategies": [s.name], "score": p.score,
                            "reason": [p.reason], "context_id": p.context_id}
            n["selected"] += 1
    return n
