"""How close each test item is to the train split, and the test metrics per closeness.

A model can score well by having seen a test item, or a near copy of it, in training. Each test
item gets the closest of four strata:
  exact     its compared content equals a train record's (case and whitespace aside)
  near      the exact Jaccard of character 5-gram sets to some train record >= `near_threshold`
            (one-permutation MinHash LSH proposes the pairs, the shingle sets decide, as near dedup)
  semantic  the cosine of MiniLM embeddings to some train record >= `semantic_threshold`
  none      none of these
and every test metric is also reported per stratum, so a user sees whether a score rests on
memorised items. The strata partition the test set: their counts add up to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.experiments.stats import METRICS, Columns

STRATA = ("exact", "near", "semantic", "none")


def _texts(table: pa.Table, kind: str) -> list[str]:
    from pipeline.experiments.training import COMPARED_FIELDS

    cols = [table.column(f).to_pylist() for f in COMPARED_FIELDS[kind]]
    return ["\n".join(v or "" for v in values) for values in zip(*cols)]


def _near(train: list[str], test: list[str], threshold: float) -> np.ndarray:
    """Per test item: whether some train item's exact Jaccard reaches the threshold."""
    from pipeline.similarity.lsh import band_keys, cross_candidate_pairs, recall_bands
    from pipeline.similarity.oph import OnePermutationHasher
    from pipeline.similarity.shingle_sets import concat, exact_jaccard, from_values

    hasher = OnePermutationHasher(num_perm=128, ngram=5, unit="char", seed=1)
    out = np.zeros(len(test), bool)
    if not train or not test:
        return out
    sig_a, values_a, counts_a = hasher.sketch(test, keep_shingles=True)
    sig_b, values_b, counts_b = hasher.sketch(train, keep_shingles=True)
    bands, rows = recall_bands(threshold, 128)
    pairs = cross_candidate_pairs(band_keys(sig_a, bands, rows), band_keys(sig_b, bands, rows), max_bucket=5000)
    if len(pairs):
        sets = concat([from_values(values_a, counts_a), from_values(values_b, counts_b)])
        jaccard = exact_jaccard(sets, np.stack([pairs[:, 0], len(test) + pairs[:, 1]], axis=1))
        out[np.unique(pairs[jaccard >= np.float32(threshold), 0])] = True
    return out


def _semantic(train: list[str], test: list[str], threshold: float, cache_dir: Path | None) -> np.ndarray:
    """Per test item: whether some train item's embedding has cosine >= threshold with it."""
    from pipeline.dedup.embed import Embedder, embed_cached
    from pipeline.vector_cache import VectorCache
    from pipeline.similarity.content import content_key

    out = np.zeros(len(test), bool)
    if not train or not test:
        return out
    embedder = Embedder()
    cache = VectorCache(cache_dir, embedder.model_key) if cache_dir else None

    def vectors(texts: list[str]) -> np.ndarray:
        return embed_cached(texts, [content_key("leakage", t) for t in texts], embedder, cache)[0]

    a, b = vectors(test), vectors(train)
    for lo in range(0, len(a), 1024):
        out[lo: lo + 1024] = (a[lo: lo + 1024] @ b.T).max(axis=1) >= threshold
    return out


def leakage_strata(train: pa.Table, test: pa.Table, kind: str, near_threshold: float = 0.7,
                   semantic_threshold: float = 0.9, cache_dir: Path | None = None) -> list[str]:
    """The stratum of each test record (in `test`'s order)."""
    from pipeline.experiments.training import content_keys

    train_keys = set(content_keys(train, kind))
    exact = np.array([k in train_keys for k in content_keys(test, kind)], bool)
    train_texts, test_texts = _texts(train, kind), _texts(test, kind)
    near = _near(train_texts, test_texts, near_threshold)
    semantic = _semantic(train_texts, test_texts, semantic_threshold, cache_dir)
    return [STRATA[0] if e else STRATA[1] if n else STRATA[2] if s else STRATA[3]
            for e, n, s in zip(exact, near, semantic)]


def metrics_by_stratum(columns: Columns, strata: list[str], metric_names: list[str]) -> dict[str, dict[str, Any]]:
    """{stratum: {n, metric: value}} for every stratum (n 0 and no values when empty)."""
    strata_arr = np.array(strata)
    out = {}
    for stratum in STRATA:
        weights = (strata_arr == stratum).astype(float)[None, :]
        row: dict[str, Any] = {"n": int(weights.sum())}
        if row["n"]:
            for name in metric_names:
                value = float(METRICS[name].compute(columns, weights)[0])
                row[name] = None if np.isnan(value) else value
        out[stratum] = row
    return out


def model_leakage(row: dict[str, Any], strata_by_id: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A trained model's test metrics per stratum, from its stored per-item outputs."""
    from pipeline.experiments.effects import item_columns, metrics_for, read_items

    items = read_items(row["model_dir"])
    labels = {v: i for i, v in enumerate(sorted(set(items.get("true", [])) | set(items.get("pred", []))))}
    columns = item_columns(items, {rid: i for i, rid in enumerate(items["id"])}, labels)
    names = metrics_for(row["kind"], row.get("config_json") or {}, [columns])
    return metrics_by_stratum(columns, [strata_by_id[i] for i in items["id"]], names)
