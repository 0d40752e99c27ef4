"""Quality gates: each computes a score per candidate; `decide` turns the scores into decisions.

Scores are kept for every candidate (candidates.parquet) whether or not they decide, so a
band can be re-tuned from one run's numbers. Gates run cheapest first and a costly one (the
sandboxed tests) only for candidates still standing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipeline.augment.candidates import Candidate
from pipeline.augment.config import GatesConfig
from pipeline.dedup.config import DEFAULT_DEDUP_FIELDS, DedupConfig, NearConfig
from pipeline.similarity.content import compared_text, content_key


def changed_text(record: dict[str, Any], fields: list[str]) -> str:
    return "\n".join(str(record.get(f) or "") for f in fields)


def score_length(cands: list[Candidate], kinds: list[str]) -> None:
    for c in cands:
        if c.record is not None and c.parent["kind"] in kinds:
            before = len(changed_text(c.parent, c.fields))
            c.scores["length_ratio"] = round(len(changed_text(c.record, c.fields)) / max(before, 1), 4)


class SimilarityScorer:
    """Cosine similarity of the changed fields before and after, with dedup's embedder and cache."""

    def __init__(self, config: GatesConfig, cache_dir: Path | None):
        from pipeline.dedup.embed import Embedder, VectorCache

        g = config.similarity
        self.kinds = set(g.kinds)
        self.embedder = Embedder(model=g.model, device=g.device, batch_size=g.batch_size)
        self.cache = VectorCache(cache_dir, self.embedder.model_key) if cache_dir else None
        self.counters: dict[str, int] = {}

    def score(self, cands: list[Candidate]) -> None:
        from pipeline.dedup.embed import embed_cached

        todo = [c for c in cands if c.record is not None and c.parent["kind"] in self.kinds]
        if not todo:
            return
        texts, keys = [], []
        for c in todo:
            for rec in (c.parent, c.record):
                t = compared_text(rec, c.fields) or ""
                texts.append(t)
                keys.append(content_key(rec["kind"], t))
        vecs, counters = embed_cached(texts, keys, self.embedder, self.cache)
        for k, v in counters.items():
            self.counters[k] = self.counters.get(k, 0) + v
        sims = np.einsum("ij,ij->i", vecs[0::2], vecs[1::2])
        for c, s in zip(todo, sims.tolist()):
            c.scores["similarity"] = round(float(s), 4)


class DuplicateIndex:
    """Exact keys and MinHash signatures of the dataset; candidates must not copy any record.

    A candidate is compared with records outside its own family for near duplicates: its
    parent and siblings are near copies by construction, and the similarity band already
    says how close to its parent it may be. Exact copies of anything, parent included (an
    augmenter that changed nothing that counts), are rejected.
    """

    def __init__(self, near_threshold: float):
        from pipeline.dedup.near_level import NearLevel

        self.level = NearLevel(DedupConfig(near=NearConfig(threshold=near_threshold)), 0.0)
        self.exact: dict[bytes, str] = {}
        self._sigs: list[np.ndarray] = []
        self.ids: list[str] = []
        self.kinds: list[str] = []
        self.groups: list[str] = []
        self.sigs = np.zeros((0, 1), np.uint64)

    @staticmethod
    def _text(rec: dict[str, Any]) -> str | None:
        return compared_text(rec, DEFAULT_DEDUP_FIELDS[rec["kind"]])

    def add_existing(self, rows: list[dict[str, Any]]) -> None:
        texts = [self._text(r) for r in rows]
        for r, t in zip(rows, texts):
            if t is not None:
                self.exact.setdefault(content_key(r["kind"], t), r["id"])
        self._sigs.append(self.level.features(texts, [None] * len(texts)))
        self.ids += [r["id"] for r in rows]
        self.kinds += [r["kind"] for r in rows]
        self.groups += [r["group_id"] for r in rows]

    def freeze(self) -> None:
        if self._sigs:
            self.sigs = np.concatenate(self._sigs)
        # The dataset's band keys once, not again for every batch of candidates.
        self._indexed = self.level.index(self.sigs) if len(self.sigs) else None
        self._kinds, self._groups = np.asarray(self.kinds, dtype=object), np.asarray(self.groups, dtype=object)

    def score(self, cands: list[Candidate]) -> None:
        todo = [c for c in cands if c.record is not None]
        if not todo:
            return
        texts = [self._text(c.record) for c in todo]
        for c, t in zip(todo, texts):
            of = self.exact.get(content_key(c.record["kind"], t)) if t is not None else None
            if of is not None:
                c.scores.update(duplicate="exact", duplicate_of=of, duplicate_similarity=1.0)
        if self._indexed is None:
            return
        pairs, sims = self.level.cross_indexed(self.level.features(texts, [None] * len(texts)), self._indexed)
        best: dict[int, tuple[float, int]] = {}
        for (i, j), s in zip(pairs.tolist(), sims.tolist()):
            c = todo[i]
            if self._kinds[j] != c.record["kind"] or self._groups[j] == c.record["group_id"]:
                continue
            if s > best.get(i, (-1.0, -1))[0]:
                best[i] = (s, j)
        for i, (s, j) in best.items():
            if "duplicate" not in todo[i].scores:
                todo[i].scores.update(duplicate="near", duplicate_of=self.ids[j], duplicate_similarity=round(s, 4))

    def add_kept(self, c: Candidate) -> None:
        """Later candidates must not copy this one either (two augmenters can agree)."""
        t = self._text(c.record) if c.record is not None else None
        if t is not None:
            self.exact.setdefault(content_key(c.record["kind"], t), c.record["id"])


def _outside(value: float | None, band: Any) -> str | None:
    if value is None or not band.enabled:
        return None
    if band.min is not None and value < band.min:
        return "low"
    if band.max is not None and value > band.max:
        return "high"
    return None


def decide(c: Candidate, config: GatesConfig) -> str:
    """The first gate the candidate fails (as a reject reason), or "kept"."""
    s = c.scores
    if c.failure:
        return c.failure
    if s.get("parses") is False:
        return "gate:unparsable"
    if s.get("alpha_equivalent") is False:
        return "gate:not_alpha_equivalent"
    if s.get("equivalent") is False:
        return "gate:not_equivalent"
    if s.get("tests_passed") is False:
        return "gate:tests_failed"
    side = _outside(s.get("length_ratio"), config.length_ratio)
    if side:
        return f"gate:length_ratio_{side}"
    side = _outside(s.get("similarity"), config.similarity)
    if side:
        return f"gate:similarity_{side}"
    if s.get("label_preserved") is False:
        return "gate:label_changed"
    if config.duplicates.enabled and s.get("duplicate"):
        return f"gate:{s['duplicate']}_duplicate"
    return "kept"
