"""The three levels behind one interface (level_base.Level): features per record, pairs within
a set, pairs across sets; which level a stage runs (`make_level`), one object per process.

  exact     features: the 16-byte hash of the compared content; similarity 1.0
  near      features: MinHash signatures; candidates by LSH banding, verified by the exact Jaccard
            of their shingle sets (or by the estimate, `near.verify: estimate`): near_level.py
  semantic  features: L2-normalised sentence embeddings; verified by cosine similarity

Features are what an incremental run stores and reloads: a later batch is compared with an
earlier dataset through them, without recomputing the earlier dataset's signatures or embeddings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.level_base import Level, Pairs, _empty_pairs
from pipeline.dedup.near_level import NearLevel
from pipeline.fingerprint import hash_json

__all__ = ["ExactLevel", "Level", "NearLevel", "Pairs", "SemanticLevel", "cached_level", "make_level",
           "release_levels"]

_NO_KEY = np.zeros(16, dtype=np.uint8)


class ExactLevel(Level):
    name, reason = "exact", "exact_duplicate"

    def features(self, texts, keys):
        out = np.zeros((len(keys), 16), dtype=np.uint8)
        for i, k in enumerate(keys):
            if k is not None:
                out[i] = np.frombuffer(k, dtype=np.uint8)
        return out

    def valid(self, feats):
        return feats.any(axis=1)

    def pairs(self, feats, members):
        """Each class of equal content, joined by edges between records that may be duplicates.

        Members link to the class's first member where allowed; the others (different records
        of the first member's group) link to the class's first member of another group, or to
        an earlier copy of themselves. A class spanning groups becomes one cluster; a family
        repeating itself inside its group, none.
        """
        valid = np.flatnonzero(self.valid(feats))
        if len(valid) < 2:
            return _empty_pairs()
        _, inverse, counts = np.unique(feats[valid].view("V16").ravel(), return_inverse=True, return_counts=True)
        dup = counts[inverse] > 1
        if not dup.any():
            return _empty_pairs()
        rows, cls = valid[dup], inverse[dup]
        order = np.lexsort((rows, cls))
        rows, cls = rows[order], cls[order]
        edges: list[tuple[int, int]] = []
        for same in np.split(rows, np.flatnonzero(np.diff(cls)) + 1):
            first, rest = same[0], same[1:]
            exempt = members.exempt(first, rest)
            edges += [(first, m) for m in rest[~exempt]]
            rest = rest[exempt]
            if len(rest) == 0:
                continue
            other = same[members.groups[same] != members.groups[first]]
            if len(other):
                edges += [(other[0], m) for m in rest]
                continue
            earliest: dict[int, int] = {}
            for m in rest.tolist():
                copy_of = earliest.setdefault(int(members.ids[m]), m)
                if copy_of != m:
                    edges.append((copy_of, m))
        pairs = np.sort(np.array(edges, dtype=np.int64).reshape(-1, 2), axis=1)
        return pairs, np.ones(len(pairs), dtype=np.float32)

    def bucket_keys(self, feats):
        from pipeline.similarity.lsh import EMPTY_KEY
        from pipeline.similarity.shingling import mix64

        halves = np.ascontiguousarray(feats).view(np.uint64).reshape(len(feats), 2)
        keys = mix64(halves[:, 0] ^ mix64(halves[:, 1].copy()))
        keys[keys == EMPTY_KEY] = np.uint64(1)
        keys[~self.valid(feats)] = EMPTY_KEY
        return keys.reshape(-1, 1)

    relinks = True

    def partition_pairs(self, feats, keys, rows, bands, sets=None):
        """The rows whose full content hash another row shares, chained per class of equal
        content (the driver links each class by the group rules). A 64-bit key is only where
        to look: classes are formed on the full hash of the rows that share a key."""
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        shared = np.unique(rows[counts[inverse] > 1])
        pairs = np.zeros((0, 2), np.int64)
        if len(shared) >= 2:
            _, cls = np.unique(np.ascontiguousarray(feats.take(shared)).view("V16").ravel(), return_inverse=True)
            order = np.lexsort((shared, cls))
            cls, ordered = cls[order], shared[order]
            same = cls[1:] == cls[:-1]
            pairs = np.stack([ordered[:-1][same], ordered[1:][same]], axis=1)
        empty, none = np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
        return (pairs, np.ones(len(pairs), np.float32), np.full(len(pairs), np.nan, np.float32),
                empty, none, none, len(shared))

    def cross(self, a, b):
        va, vb = self.valid(a), self.valid(b)
        index = {bytes(k): j for j, k in reversed(list(enumerate(b))) if vb[j]}
        hits = [(i, index[bytes(k)]) for i, k in enumerate(a) if va[i] and bytes(k) in index]
        pairs = np.array(hits, dtype=np.int64).reshape(-1, 2)
        return pairs, np.ones(len(pairs), dtype=np.float32)

    def similarity(self, feats, a, b):
        return np.ones(len(a), dtype=np.float32)

class SemanticLevel(Level):
    name, reason = "semantic", "semantic_duplicate"

    def __init__(self, config: DedupConfig, cache_dir: Path | None, progress: Callable[[int], None] | None = None):
        from pipeline.dedup.embed import Embedder, VectorCache, resolve_device

        c = config.semantic
        self.config = c
        self.device = resolve_device(c.device)
        self.embedder = Embedder(model=c.model, device=self.device, batch_size=c.batch_size, fp16=c.fp16,
                                 max_seq_length=c.max_seq_length, backend=c.backend, quantize=c.quantize)
        self.cache = VectorCache(cache_dir, self.embedder.model_key) if (c.cache and cache_dir) else None
        self.progress = progress
        self._counters: dict[str, int] = {}

    def params(self):
        return {"model_key": self.embedder.model_key}

    def features(self, texts, keys):
        from pipeline.dedup.embed import embed_cached

        present = [i for i, t in enumerate(texts) if t is not None]
        out = np.zeros((len(texts), self.embedder.dim), dtype=np.float32)
        if present:
            vecs, counters = embed_cached([texts[i] for i in present], [keys[i] for i in present],
                                          self.embedder, self.cache, self.progress)
            out[present] = vecs
            for k, v in counters.items():
                self._counters[k] = self._counters.get(k, 0) + v
        return out

    def valid(self, feats):
        return np.abs(feats).sum(axis=1) > 0

    def pairs(self, feats, members):
        from pipeline.dedup.neighbors import similar_pairs

        rows = np.flatnonzero(self.valid(feats))
        c = self.config
        pairs, sims, counters = similar_pairs(feats[rows], c.threshold, device=self.device,
                                              cluster_above=c.cluster_above, cluster_size=c.cluster_size)
        for k, v in counters.items():  # summed over the calls (one per record kind)
            key = k if k.startswith("semantic:") else f"semantic:{k}"
            merge = max if "largest" in key else int.__add__
            self._counters[key] = merge(self._counters.get(key, 0), int(v))
        return (rows[pairs] if len(pairs) else pairs.reshape(0, 2)), sims

    def cross(self, a, b):
        from pipeline.dedup.neighbors import cross_similar_pairs

        va, vb = np.flatnonzero(self.valid(a)), np.flatnonzero(self.valid(b))
        pairs, sims = cross_similar_pairs(a[va], b[vb], self.config.threshold, device=self.device)
        if len(pairs) == 0:
            return pairs.reshape(0, 2), sims
        return np.stack([va[pairs[:, 0]], vb[pairs[:, 1]]], axis=1), sims

    def similarity(self, feats, a, b):
        return np.einsum("ij,ij->i", feats[a], feats[b]).astype(np.float32)

    def counters(self):
        return dict(self._counters)


def make_level(name: str, config: DedupConfig, cache_dir: Path | None = None,
               progress: Callable[[int], None] | None = None) -> Level:
    if name == "exact":
        return ExactLevel()
    if name == "near":
        return NearLevel(config, config.borderline_margin)
    if name == "semantic":
        return SemanticLevel(config, cache_dir, progress)
    raise ValueError(f"unknown dedup level {name!r}")


# One level object per worker process and settings: a semantic level holds its model.
_levels: dict[str, Level] = {}


def cached_level(name: str, config: DedupConfig, cache_dir: str | None) -> Level:
    key = hash_json([name, config, cache_dir])
    level = _levels.get(key)
    if level is None:
        level = _levels[key] = make_level(name, config, Path(cache_dir) if cache_dir else None)
    return level


def release_levels() -> None:
    """Drop the cached levels (a semantic level's model) once a stage is done with them."""
    _levels.clear()
