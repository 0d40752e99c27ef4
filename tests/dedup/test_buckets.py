"""The bucket shuffle: candidates found per key partition, from features spread over shard files,
are exactly those of one search over the whole input, whatever the number of partitions."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.dedup import buckets
from pipeline.dedup.buckets import PairJob, join_partitions, partition_pairs, salted, write_buckets
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.levels import make_level
from pipeline.dedup.sharded import sharded
from pipeline.similarity.lsh import band_keys, candidate_pairs, estimated_jaccard
from tests.dedup.helpers import doc, kept_ids, rejected, run_level

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split()


def texts_with_copies(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Random texts, a third of them edited copies of an earlier one; two record kinds."""
    rng = random.Random(seed)
    texts: list[str] = []
    for i in range(n):
        if texts and rng.random() < 0.35:
            words = rng.choice(texts).split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            texts.append(" ".join(words))
        else:
            texts.append(" ".join(rng.choice(WORDS) for _ in range(30)))
    kinds = ["instruction" if rng.random() < 0.5 else "classification" for _ in texts]
    return texts, kinds


def shard_files(tmp_path, level, feats: np.ndarray, kinds: list[str], cuts: list[int], partitions: int):
    """The features cut into shards as pass 1 writes them: a features file and a bucket file each."""
    files, counts, bucket_files = [], [], []
    for i, (lo, hi) in enumerate(zip([0, *cuts], [*cuts, len(feats)])):
        path = tmp_path / f"features-{i}.npy"
        np.save(path, feats[lo:hi])
        files.append(str(path))
        counts.append(hi - lo)
        keys = salted(level.bucket_keys(feats[lo:hi]), kinds[lo:hi])
        bucket_files.append(write_buckets(tmp_path / f"buckets-{i}.npy", keys, lo, partitions))
    return sharded(files, counts, feats.shape[1], feats.dtype.str), tuple(bucket_files)


def reference_near_pairs(level, feats: np.ndarray, kinds: list[str], excluded: set[int]):
    """One search over the whole input, kind by kind, as the level does it in one process."""
    out = {}
    kinds_arr = np.asarray(kinds, dtype=object)
    for kind in set(kinds):
        rows = np.array([r for r in np.flatnonzero(kinds_arr == kind) if r not in excluded])
        keys = band_keys(feats[rows], level.bands, level.rows)
        cand = candidate_pairs(keys, level.config.max_bucket, valid=level.valid(feats[rows]))
        sims = estimated_jaccard(feats[rows], feats[rows], cand)
        for (a, b), s in zip(rows[cand].tolist(), sims.tolist()):
            out[(a, b)] = s
    return out


@pytest.mark.parametrize("partitions", [1, 7])
def test_near_pairs_from_partitions_equal_one_search_over_everything(tmp_path, partitions):
    texts, kinds = texts_with_copies(600)
    config = DedupConfig()
    level = make_level("near", config)
    feats = level.features(texts, [None] * len(texts))
    features, files = shard_files(tmp_path, level, feats, kinds, [150, 151, 420], partitions)
    excluded = np.array([3, 40, 41, 300])
    found = join_partitions([partition_pairs(PairJob("near", config, files, features, excluded), p)
                             for p in range(partitions)], len(texts))

    expected = reference_near_pairs(level, feats, kinds, set(excluded.tolist()))
    t, margin = config.near.threshold, config.borderline_margin
    assert {tuple(p) for p in found.pairs.tolist()} == {p for p, s in expected.items() if s >= t}
    assert {tuple(p) for p in found.near_pairs.tolist()} == {p for p, s in expected.items() if t - margin <= s < t}
    assert len(found.pairs) > 50  # the copies were found, and no pair crosses kinds
    assert all(kinds[a] == kinds[b] for a, b in found.pairs.tolist())
    assert np.allclose(found.sims, estimated_jaccard(feats, feats, found.pairs))


def test_exact_partitions_name_every_record_that_shares_content(tmp_path):
    texts, kinds = texts_with_copies(300)
    texts = texts + texts[:40]  # 40 exact copies, of the same kind ...
    kinds = kinds + kinds[:40]
    texts.append(texts[50])  # ... and one copy of another kind, which is not a duplicate
    kinds.append("classification" if kinds[50] == "instruction" else "instruction")
    level = make_level("exact", DedupConfig())
    from pipeline.similarity import content_key

    feats = level.features(texts, [content_key(k, t) for k, t in zip(kinds, texts)])
    features, files = shard_files(tmp_path, level, feats, kinds, [100, 310], 3)
    found = join_partitions([partition_pairs(PairJob("exact", DedupConfig(), files, features, np.zeros(0, np.int64)), p)
                             for p in range(3)], len(texts))
    assert set(np.unique(found.pairs).tolist()) == set(range(40)) | set(range(300, 340))
    assert all(texts[a] == texts[b] and kinds[a] == kinds[b] for a, b in found.pairs.tolist())


def test_sharded_features_gather_rows_in_any_order(tmp_path):
    feats = np.arange(50 * 4, dtype=np.uint32).reshape(50, 4)
    files = []
    for i, (lo, hi) in enumerate([(0, 20), (20, 20), (20, 50)]):
        np.save(tmp_path / f"f{i}.npy", feats[lo:hi])
        files.append(str(tmp_path / f"f{i}.npy"))
    sf = sharded([files[0], None, files[2]], [20, 0, 30], 4, feats.dtype.str)
    rows = np.array([49, 0, 19, 20, 20, 7])
    assert np.array_equal(sf[rows], feats[rows]) and sf.shape == (50, 4) and len(sf) == 50
    assert np.array_equal(sf[10:30], feats[10:30])
    with pytest.raises(IndexError):
        sf.take(np.array([50]))


def test_near_stage_decides_the_same_with_many_partitions(tmp_path, monkeypatch):
    texts, _ = texts_with_copies(200, seed=3)
    rows = [doc(t, source=f"s{i}") for i, t in enumerate(texts)]
    one = run_level(tmp_path / "one", "near", rows)
    monkeypatch.setattr(buckets, "ENTRIES_PER_PARTITION", 97)  # 200 rows x bands keys: dozens of partitions
    many = run_level(tmp_path / "many", "near", rows)
    assert kept_ids(many) == kept_ids(one) and len(kept_ids(one)) < 170
    assert rejected(many) == rejected(one)
    assert many.manifest["counters"]["dedup:pairs"] == one.manifest["counters"]["dedup:pairs"]


def test_sharded_shingle_sets_gather_rows_in_any_order(tmp_path):
    from pipeline.dedup.sharded import sharded_sets
    from pipeline.similarity.minhash import MinHasher
    from pipeline.similarity.shingle_sets import from_hashes

    hasher = MinHasher(16, 5, "char", 1)
    texts = [f"text number {i} " * (i % 7) for i in range(300)]  # every 7th text is empty
    stems = []
    for k, (lo, hi) in enumerate([(0, 100), (100, 100), (100, 300)]):
        sets = from_hashes(*hasher.shingle_hashes(texts[lo:hi]))
        np.save(tmp_path / f"s{k}.values.npy", sets.values)
        np.save(tmp_path / f"s{k}.offsets.npy", sets.offsets)
        stems.append(str(tmp_path / f"s{k}") if hi > lo else None)
    rows = np.array([299, 0, 150, 150, 99, 100, 7])
    got = sharded_sets(stems, [100, 0, 200]).take(rows)
    whole = from_hashes(*hasher.shingle_hashes(texts)).take(rows)
    assert np.array_equal(got.values, whole.values) and np.array_equal(got.offsets, whole.offsets)
    assert got.sizes[-1] == 0 and got.sizes[0] > 0
