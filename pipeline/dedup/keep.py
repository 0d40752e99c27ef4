"""Which record of a duplicate cluster is kept: an explicit, configurable order of rules.

Every record gets one rank over the whole input (0 = most worth keeping); a cluster keeps its
member of lowest rank. Ranking the input once, instead of comparing inside each cluster, makes
the choice independent of the order in which pairs were found, and the record id as the last
key makes it total, so the same input always keeps the same records.

Rules:
  annotated  records a human has annotated (an operation of stage `annotation`) come first;
  quality    higher quality first: `quality_column` if set, else the composite of cleaning's scores;
  longest    the longer answer first (response, code, or text for classification);
  earliest   the record read first (sources in config order, files and lines in reading order).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

# The cleaning scores that measure defects as fractions (0 = clean); alpha_word_frac measures
# the opposite (1 = clean). Their product is the composite quality: 1 for a clean text.
DEFECT_SCORES = ("score_symbol_ratio", "score_dup_line_frac", "score_dup_5gram_frac", "score_top_2gram_frac")
GOOD_SCORES = ("score_alpha_word_frac",)
ANSWER_FIELD = {"classification": "text", "instruction": "response", "code": "code"}
ANNOTATION_STAGE = "annotation"


def rank_columns(quality_column: str | None) -> tuple[str, ...]:
    """The input columns the rules read (those missing from an input count as neutral)."""
    quality = (quality_column,) if quality_column else DEFECT_SCORES + GOOD_SCORES
    return ("id", "kind", "operations", "text", "response", "code", *quality)


class RankInputs:
    """The per-record values the rules need, gathered batch by batch in input order; `compact`
    turns them into arrays (a shard's travel to the driver that way: 5M records as Python lists
    held about 1 GB there)."""

    def __init__(self, quality_column: str | None):
        self.quality_column = quality_column
        self.ids: list[str] = []
        self.annotated: list[bool] = []
        self.quality: list[float] = []
        self.length: list[int] = []

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        for r in rows:
            self.ids.append(r["id"])
            self.annotated.append(any(op.get("stage") == ANNOTATION_STAGE for op in r.get("operations") or ()))
            self.quality.append(self._quality(r))
            self.length.append(len(r.get(ANSWER_FIELD.get(r["kind"], "text")) or ""))

    def compact(self) -> "RankInputs":
        import pyarrow as pa

        out = RankInputs(self.quality_column)
        out.ids = pa.array(self.ids, pa.string())  # type: ignore[assignment]
        out.annotated = np.asarray(self.annotated, dtype=bool)  # type: ignore[assignment]
        out.quality = np.asarray(self.quality, dtype=np.float64)  # type: ignore[assignment]
        out.length = np.asarray(self.length, dtype=np.int64)  # type: ignore[assignment]
        return out

    @classmethod
    def concat(cls, parts: Sequence["RankInputs"], quality_column: str | None) -> "RankInputs":
        """Compacted parts in order, as one."""
        import pyarrow as pa

        out = cls(quality_column)
        out.ids = pa.concat_arrays([p.ids for p in parts]) if parts else pa.array([], pa.string())  # type: ignore
        for name, dtype in (("annotated", bool), ("quality", np.float64), ("length", np.int64)):
            setattr(out, name, np.concatenate([np.zeros(0, dtype), *[getattr(p, name) for p in parts]]))
        return out

    def _quality(self, r: dict[str, Any]) -> float:
        if self.quality_column:
            v = r.get(self.quality_column)
            return float(v) if v is not None else float("-inf")  # unscored records rank last
        q = 1.0
        for name in DEFECT_SCORES:
            v = r.get(name)
            q *= 1.0 - float(v) if v is not None else 1.0
        for name in GOOD_SCORES:
            v = r.get(name)
            q *= float(v) if v is not None else 1.0
        return q


def keep_ranks(inputs: RankInputs, rules: Sequence[str]) -> np.ndarray:
    """rank[i] = position of record i in the keep order (0 = kept first)."""
    n = len(inputs.ids)
    keys: dict[str, np.ndarray] = {
        "annotated": ~np.asarray(inputs.annotated, dtype=bool),  # False sorts first: annotated
        "quality": -np.asarray(inputs.quality, dtype=np.float64),
        "longest": -np.asarray(inputs.length, dtype=np.int64),
        "earliest": np.arange(n),
    }
    # The id breaks every remaining tie, so the order is total and reproducible. Arrow's string
    # order is by UTF-8 bytes, which is Python's code point order.
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = inputs.ids if isinstance(inputs.ids, pa.Array) else pa.array(inputs.ids, pa.string())
    id_order = pc.sort_indices(ids).to_numpy()
    id_rank = np.empty(n, dtype=np.int64)
    id_rank[id_order] = np.arange(n)
    # np.lexsort sorts by the last key first.
    order = np.lexsort([id_rank, *[keys[r] for r in reversed(list(rules))]]) if n else np.zeros(0, np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank
