"""Held-out reference sets: finding input records that copy or nearly copy a benchmark record.

A reference set is read as dedup reads one (pipeline.reference_records), then indexed twice: by
content hash for exact copies, and by word 5-gram shingles for near copies. The near index is
an inverted index with prefix filtering (Chaudhuri et al. 2006; Bayardo et al. 2007): order
every shingle set by shingle rarity; two sets with Jaccard >= t always share one of the first
|S| - ceil(t*|S|) + 1 shingles of each, so only those prefixes are indexed and looked up, and
each candidate found is then verified with its exact Jaccard similarity.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping

from pipeline.reference_records import read_reference
from pipeline.similarity.content import compared_text, content_key, jaccard, shingles
from pipeline.split.config import ReferenceSet


@dataclass(frozen=True)
class Match:
    reason: str  # reference_exact:<name> or reference_near:<name>
    detail: str


class ReferenceIndex:
    """The records of one reference set, indexed for exact and near lookups."""

    def __init__(self, ref: ReferenceSet):
        self.ref = ref
        self.fields = ref.compared()
        self.exact: dict[bytes, str] = {}  # content hash -> origin of the first reference record
        self.sets: list[frozenset[int]] = []
        self.origins: list[str] = []
        self.unreadable = 0
        self._rank: dict[int, int] = {}  # shingle -> rank in the global order
        self._postings: dict[int, list[int]] = {}  # rank -> reference records with it in their prefix

    def load(self) -> "ReferenceIndex":
        records = read_reference(self.ref, self.fields)
        self.unreadable = records.unreadable
        for text, key, origin in zip(records.texts, records.keys, records.origins):
            self._add(text, key, origin)
        self._index_prefixes()
        return self

    def _add(self, text: str, key: bytes, origin: str) -> None:
        self.exact.setdefault(key, origin)
        self.sets.append(shingles(text))
        self.origins.append(origin)

    def _index_prefixes(self) -> None:
        # Rare shingles first: prefixes then hold the most selective shingles, and posting
        # lists stay short. Ranks start at 1; postings are keyed by rank.
        df = Counter(s for shingle_set in self.sets for s in shingle_set)
        self._rank = {s: i + 1 for i, (s, _) in enumerate(sorted(df.items(), key=lambda kv: (kv[1], kv[0])))}
        for i, shingle_set in enumerate(self.sets):
            for r in self._prefix_ranks(shingle_set):
                self._postings.setdefault(r, []).append(i)

    def _prefix_ranks(self, shingle_set: frozenset[int]) -> list[int]:
        """The ranks of the indexed shingles in the set's prefix (see the module docstring).

        Shingles no reference has come first in the order; they are in every prefix but can
        match nothing, so only the rest of the prefix, the k rarest known shingles, is looked up.
        """
        known = [r for r in map(self._rank.get, shingle_set) if r is not None]
        # The small epsilon keeps float error in t*|S| from shortening the prefix below the bound.
        prefix_len = len(shingle_set) - math.ceil(self.ref.near_threshold * len(shingle_set) - 1e-9) + 1
        k = prefix_len - (len(shingle_set) - len(known))
        return sorted(known)[:k] if k > 0 else []

    def match(self, text: str) -> Match | None:
        origin = self.exact.get(content_key(self.ref.kind, text))
        if origin is not None:
            return Match(f"reference_exact:{self.ref.name}", f"same content as {self.ref.name} record {origin}")
        return self._near(text)

    def _near(self, text: str) -> Match | None:
        query = shingles(text)
        candidates = {i for r in self._prefix_ranks(query) for i in self._postings.get(r, ())}
        best, best_i = 0.0, -1
        for i in sorted(candidates):  # sorted: ties go to the earliest reference record
            sim = jaccard(query, self.sets[i])
            if sim > best:
                best, best_i = sim, i
        if best_i < 0 or best < self.ref.near_threshold:
            return None
        return Match(f"reference_near:{self.ref.name}",
                     f"Jaccard {best:.3f} (word 5-grams) with {self.ref.name} record {self.origins[best_i]}")


class ReferenceMatcher:
    """Every configured reference set; the first set (in config order) that matches decides."""

    def __init__(self, refs: list[ReferenceSet]):
        self.indexes = [ReferenceIndex(ref).load() for ref in refs]
        self.kinds = {idx.ref.kind for idx in self.indexes}

    def match(self, kind: str, row: Mapping[str, Any], known: Mapping[tuple[str, ...], str | None]) -> Match | None:
        """The first reference copy `row` is; `known` holds compared texts the caller already has."""
        if kind not in self.kinds:
            return None
        for idx in self.indexes:
            if idx.ref.kind != kind:
                continue
            text = known[idx.fields] if idx.fields in known else compared_text(row, idx.fields)
            found = None if text is None else idx.match(text)
            if found is not None:
                return found
        return None

    def counters(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for idx in self.indexes:
            out[f"reference:{idx.ref.name}:records"] = len(idx.origins)
            out[f"reference:{idx.ref.name}:unreadable"] = idx.unreadable
        return out
