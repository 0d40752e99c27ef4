"""The keep-one guarantee on records built to chain (each a near copy of the next, the ends far
apart), exact verification of near pairs, and no record paired with itself."""

from __future__ import annotations

import random
import re

import numpy as np
import pyarrow.parquet as pq

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.levels import make_level
from pipeline.similarity.content import compared_text
from pipeline.similarity.lsh import estimated_jaccard
from tests.dedup.helpers import doc, kept_ids, qa, rejected, run_level

VOCAB = ("river stone maple cloud lantern harbor meadow copper violet thunder garden silver falcon "
         "orchard candle willow ember granite velvet comet").split()


def grams(text: str) -> set[str]:
    """Character 5-grams of the words, lower-cased, one space between words: the near level's
    shingles, written out independently of its code."""
    norm = " ".join(re.findall(r"\w+", text.lower()))
    return {norm[i:i + 5] for i in range(max(len(norm) - 4, 1))}


def jaccard(a: str, b: str) -> float:
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def chains(n_chains: int = 20, length: int = 12, seed: int = 0) -> list[str]:
    """Chains of texts, each link three words away from the previous one."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n_chains):
        words = [rng.choice(VOCAB) for _ in range(40)]
        for _ in range(length):
            texts.append(" ".join(words))
            for _ in range(3):
                words[rng.randrange(len(words))] = rng.choice(VOCAB)
    return texts


def test_near_drops_only_records_verified_against_a_kept_record(tmp_path):
    texts = chains()
    rows = [doc(t, source=f"s{i}") for i, t in enumerate(texts)]
    out = run_level(tmp_path, "near", rows, keep=["earliest"])
    by_id = {r["id"]: r["text"] for r in rows}
    kept = set(kept_ids(out))
    drops = rejected(out)
    assert len(drops) > 50
    for rid, r in drops.items():
        assert r["duplicate_of"] in kept
        # Checked with Python sets, not with the level's own shingles or estimate.
        assert jaccard(by_id[rid], by_id[r["duplicate_of"]]) >= 0.7
        assert abs(r["similarity"] - jaccard(by_id[rid], by_id[r["duplicate_of"]])) < 0.01
    # The chains really chain: records in a cluster with a kept record they are not close to stay.
    roles = pq.read_table(out.path / "clusters.parquet").column("role").to_pylist()
    assert roles.count("distinct") > 10
    ends = [(texts[k * 12], texts[k * 12 + 11]) for k in range(20)]
    assert max(jaccard(a, b) for a, b in ends) < 0.5


def test_near_pairs_are_decided_on_the_exact_jaccard(tmp_path):
    """Every candidate whose exact Jaccard is at or above the threshold is a duplicate pair, and
    no pair below it is, however far its MinHash estimate strays."""
    texts = chains(n_chains=30, length=6, seed=1)
    rows = [doc(t, source=f"s{i}") for i, t in enumerate(texts)]
    out = run_level(tmp_path, "near", rows, keep=["earliest"])
    by_id = {r["id"]: r["text"] for r in rows}
    pairs = pq.read_table(out.path / "pairs.parquet").to_pylist()
    dup = [p for p in pairs if p["decision"] == "duplicate"]
    assert dup and all(jaccard(by_id[p["id_a"]], by_id[p["id_b"]]) >= 0.7 for p in dup)
    assert all(p["estimate"] is not None for p in pairs)
    # All true pairs among consecutive links (the pairs the chains make) were found.
    found = {frozenset((p["id_a"], p["id_b"])) for p in dup}
    for i in range(len(rows) - 1):
        if i % 6 != 5 and jaccard(texts[i], texts[i + 1]) >= 0.7:
            assert frozenset((rows[i]["id"], rows[i + 1]["id"])) in found
    # The estimate alone would have decided differently on some of these pairs.
    level = make_level("near", DedupConfig())
    sig = level.features(texts, [None] * len(texts))
    idx = {r["id"]: i for i, r in enumerate(rows)}
    every = np.array([(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))])
    est = estimated_jaccard(sig, sig, every)
    exact = np.array([jaccard(texts[i], texts[j]) for i, j in every])
    assert ((est >= 0.7) != (exact >= 0.7)).sum() > 0
    decided = {frozenset((idx[p["id_a"]], idx[p["id_b"]])) for p in dup}
    true = {frozenset((int(i), int(j))) for (i, j), e in zip(every, exact) if e >= 0.7}
    assert decided <= true and len(decided) >= 0.9 * len(true), (len(decided), len(true))
    # Misses are LSH's (never candidates), not the verification's: those just above the threshold.
    missed = [jaccard(texts[min(p)], texts[max(p)]) for p in true - decided]
    assert all(m < 0.8 for m in missed), missed


def test_semantic_drops_only_records_that_directly_match_a_kept_one(tmp_path):
    from pipeline.dedup.embed import Embedder

    # Each question a paraphrase of the next (cosine 0.92 with MiniLM), two steps apart not (0.84-0.85).
    steps = ["How do I reset my email account password?",
             "How can I quickly reset the password of my email account?",
             "How can I quickly reset the password of my work email account?",
             "How can I quickly change the password of my work email account?",
             "How can I quickly change the password of my work account?"]
    rows = [qa(s, "See the help page.") for s in steps]
    config = {"threshold": 0.9, "device": "cpu"}
    out = run_level(tmp_path, "semantic", rows, keep=["earliest"], semantic=config)
    texts = {r["id"]: compared_text(r, ("prompt", "response")) for r in rows}
    emb = Embedder(model=None, device="cpu", batch_size=8, fp16=False, max_seq_length=256)
    ids = [r["id"] for r in rows]
    vec = dict(zip(ids, emb.encode([texts[i] for i in ids])))
    kept = set(kept_ids(out))
    for rid, r in rejected(out).items():
        assert r["duplicate_of"] in kept
        assert float(np.dot(vec[rid], vec[r["duplicate_of"]])) >= 0.9 - 1e-4
    assert float(np.dot(vec[ids[0]], vec[ids[2]])) < 0.9  # two steps apart: not duplicates
    assert kept == {ids[0], ids[2], ids[4]}  # each kept record is two steps from the last


def test_a_record_read_twice_is_dropped_without_a_self_pair(tmp_path):
    row = doc("the same line, twice in one file")
    rows = [row, dict(row), doc("another line entirely, nothing like it")]
    for level in ("exact", "near"):
        out = run_level(tmp_path / level, level, rows)
        assert len(kept_ids(out)) == 2
        pairs = pq.read_table(out.path / "pairs.parquet").to_pylist()
        assert all(p["id_a"] != p["id_b"] for p in pairs)
        assert out.manifest["counters"]["dedup:repeated_records"] == 1


def family(n: int, seed: int = 3) -> list[str]:
    """n copies of one text, each with two of its 60 words changed: one LSH bucket holds them all."""
    rng = random.Random(seed)
    base = [rng.choice(VOCAB) + str(rng.randrange(9)) for _ in range(60)]
    out = []
    for _ in range(n):
        words = list(base)
        for _ in range(2):
            words[rng.randrange(len(words))] = rng.choice(VOCAB)
        out.append(" ".join(words))
    return out


def test_a_large_bucket_yields_every_true_pair_once_and_a_huge_one_is_counted(tmp_path):
    texts = family(150)  # buckets of ~150 rows: above the all-at-once size, below max_bucket
    rows = [doc(t, source=f"s{i}") for i, t in enumerate(texts)]
    out = run_level(tmp_path / "complete", "near", rows)
    pairs = pq.read_table(out.path / "pairs.parquet").to_pylist()
    dup = [frozenset((p["id_a"], p["id_b"])) for p in pairs if p["decision"] == "duplicate"]
    assert len(dup) == len(set(dup))  # each pair once, though it shares many bands
    true = {frozenset((rows[i]["id"], rows[j]["id"])) for i in range(len(rows)) for j in range(i + 1, len(rows))
            if jaccard(texts[i], texts[j]) >= 0.7 and texts[i] != texts[j]}
    assert len(true) > 5000 and true <= set(dup)
    assert "near:windowed_buckets" not in out.manifest["counters"]
    # Above max_bucket the bucket is chained by a window: fewer pairs, and the manifest says so.
    small = run_level(tmp_path / "windowed", "near", rows, near={"max_bucket": 40})
    counters = small.manifest["counters"]
    assert counters["near:windowed_buckets"] >= 1 and counters["near:windowed_rows"] >= 150
    windowed = pq.read_table(small.path / "pairs.parquet").num_rows
    assert windowed < len(true)
    # A window may leave a duplicate unpaired with the record kept: never fewer records kept.
    assert len(kept_ids(small)) >= len(kept_ids(out))
