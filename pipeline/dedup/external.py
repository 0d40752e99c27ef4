"""Records outside the input that input records must not duplicate.

Two kinds, checked before the input is deduplicated against itself, and in this order:
  reference sets  a named benchmark or evaluation set (decontamination); a match is rejected
                  as `reference_<level>:<set name>`;
  against         earlier curated datasets (incremental dedup); their stored features are
                  loaded, never recomputed, and their records always win: a match is rejected
                  as the level's ordinary duplicate reason, naming the earlier record.
Records are compared only with records of their own kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.level_base import Level
from pipeline.dedup.sharded import RowsOf

Reject = tuple[str, str, str, float]  # reason, detail, duplicate_of, similarity


@dataclass
class External:
    rejects: dict[int, Reject] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


def external_fingerprints(config: DedupConfig, level: str) -> dict[str, Any]:
    """What the level's output depends on besides its input: reference files and earlier indexes."""
    from pipeline.dedup.index import find_index, index_fingerprint
    from pipeline.dedup.reference import reference_fingerprint

    return {
        "references": [reference_fingerprint(r, config) for r in config.reference_sets],
        "against": [index_fingerprint(find_index(p, level)) for p in config.against],
    }


def best_match(pairs: np.ndarray, sims: np.ndarray) -> dict[int, tuple[int, float]]:
    """For each left row, its most similar right row (ties: the earliest)."""
    if len(pairs) == 0:
        return {}
    order = np.lexsort((pairs[:, 1], -np.asarray(sims, np.float64), pairs[:, 0]))
    p, s = pairs[order], np.asarray(sims)[order]
    first = np.flatnonzero(np.r_[True, p[1:, 0] != p[:-1, 0]])
    return {int(p[i, 0]): (int(p[i, 1]), float(s[i])) for i in first}


def match_external(level: Level, feats: np.ndarray, kinds: np.ndarray, config: DedupConfig,
                   sets: Any = None) -> External:
    """`sets`: the input's shingle sets by row, when the level verifies on them."""
    from pipeline.dedup.index import find_index, load_index
    from pipeline.dedup.reference import load_reference

    out = External()
    for ref in config.reference_sets:
        if not config.compares(level.name, ref.kind):
            continue
        records = load_reference(ref, config)
        texts, keys = list(records.texts), list(records.keys)
        if level.keeps_sets and sets is not None:
            ref_feats, ref_sets = level.features_and_sets(texts, keys)  # type: ignore[attr-defined]
        else:
            ref_feats, ref_sets = level.features(texts, keys), None
        out.counters[f"reference:{ref.name}:records"] = len(records.texts)
        out.counters[f"reference:{ref.name}:unreadable"] = records.unreadable
        rows = _open_rows(kinds == ref.kind, out.rejects)
        hits = _cross(level, feats, rows, ref_feats, np.arange(len(records.texts)), sets, ref_sets)
        for row, (j, sim) in hits.items():
            out.rejects[row] = (f"reference_{level.name}:{ref.name}",
                                f"{level.name} copy of {ref.name} record {records.origins[j]} (similarity {sim:.3f})",
                                records.ids[j], sim)
        out.counters[f"reference:{ref.name}:removed"] = len(hits)
    for path in config.against:
        index = load_index(find_index(path, level.name), level.name, level.params())
        out.counters[f"against:{index.path.parent.name}:records"] = len(index.ids)
        found = 0
        for kind in sorted(set(kinds.tolist())):
            rows = _open_rows(kinds == kind, out.rejects)
            hits = _cross(level, feats, rows, index.features, np.flatnonzero(index.kinds == kind), sets, index.sets)
            for row, (j, sim) in hits.items():
                out.rejects[row] = (level.reason, f"{level.name} duplicate of existing record {index.ids[j]}"
                                    f" in {index.path.parent} (similarity {sim:.3f})", index.ids[j], sim)
            found += len(hits)
        out.counters[f"against:{index.path.parent.name}:removed"] = found
    return out


def _open_rows(mask: np.ndarray, rejects: dict[int, Reject]) -> np.ndarray:
    rows = np.flatnonzero(mask)
    return rows[~np.isin(rows, list(rejects))] if rejects else rows


def _cross(level: Level, feats: Any, rows: np.ndarray, other: np.ndarray, other_rows: np.ndarray,
           sets: Any = None, other_sets: Any = None, chunk_rows: int = 1 << 17) -> dict[int, tuple[int, float]]:
    """Best match in `other` (restricted to other_rows) for each of `rows`, mapped back to full rows;
    decided on the shingle sets when both sides have them (`sets`, `other_sets`: by full row).

    `rows` are compared a chunk at a time: the input's features may stay in the shards' files."""
    if len(rows) == 0 or len(other_rows) == 0:
        return {}
    exact = sets is not None and other_sets is not None
    compare = level.cross_with(np.asarray(other[other_rows]), RowsOf(other_sets, other_rows) if exact else None)
    found: dict[int, tuple[int, float]] = {}
    for lo in range(0, len(rows), chunk_rows):
        part = rows[lo: lo + chunk_rows]
        pairs, sims = compare(np.asarray(feats[part]), RowsOf(sets, part) if exact else None)
        if len(pairs):
            found.update(best_match(np.stack([part[pairs[:, 0]], other_rows[pairs[:, 1]]], axis=1), sims))
    return found
