"""The near and semantic levels as stages: edited copies and paraphrases are clustered, unrelated
records are not, decisions are saved, and incremental runs reuse stored features."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.dedup.helpers import doc, kept_ids, qa, rejected, run_level

BASE = ("The quarterly report shows that revenue grew by twelve percent while operating costs stayed flat, "
        "and the board expects the new product line to reach customers in the spring after final testing.")
OTHER = ("Our hiking club meets every Saturday morning at the north trailhead; bring water, a map, sturdy "
         "boots and a jacket because the weather on the ridge changes quickly in the afternoon.")


def edited(text: str, i: int) -> str:
    """A light edit: one word replaced and a short sign-off added."""
    words = text.split()
    words[3 + i] = "really"
    return " ".join(words) + f" Regards, team {i}."


def test_near_level_clusters_edited_copies_and_keeps_one(tmp_path):
    copies = [doc(edited(BASE, i), source=f"s{i}") for i in range(4)]
    rows = [doc(BASE), *copies, doc(OTHER)]
    out = run_level(tmp_path, "near", rows, keep=["earliest"])
    assert kept_ids(out) == [rows[0]["id"], rows[-1]["id"]]
    for r in rejected(out).values():
        assert r["reason"] == "near_duplicate" and r["duplicate_of"] == rows[0]["id"]
        # The keep-one guarantee: a drop names a kept record it was itself verified against, at
        # or above the threshold (the exact Jaccard of their shingle sets).
        assert 0.7 <= r["similarity"] < 1.0 and "matched" not in r["detail"]
    c = out.manifest["counters"]
    assert c["dedup:clusters"] == 1 and c["near:candidate_pairs"] >= 4
    pairs = pq.read_table(out.path / "pairs.parquet").to_pylist()
    assert {p["decision"] for p in pairs} <= {"duplicate", "borderline"} and pairs


def test_near_level_decontaminates_against_a_reference_set(tmp_path):
    import json

    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"text": BASE, "label": "x"}) + "\n")
    rows = [doc(edited(BASE, 1)), doc(OTHER)]
    out = run_level(tmp_path, "near", rows, reference_sets=[{"name": "heldout", "kind": "classification",
                                                             "path": str(bench)}])
    r = rejected(out)[rows[0]["id"]]
    assert r["reason"] == "reference_near:heldout" and r["similarity"] >= 0.7
    assert kept_ids(out) == [rows[1]["id"]]
    # Decided on the exact Jaccard of the shingle sets, as within the input.
    assert abs(r["similarity"] - grams_jaccard(BASE, edited(BASE, 1))) < 1e-3
    assert "near:cross_decided_on_estimate" not in out.manifest["counters"]


def grams_jaccard(a: str, b: str) -> float:
    """The near level's default shingles (character 5-grams of the lower-cased words, one space
    between them), written out with Python sets."""
    import re

    x, y = (" ".join(re.findall(r"\w+", t.lower())) for t in (a, b))
    gx, gy = ({t[i:i + 5] for i in range(max(len(t) - 4, 1))} for t in (x, y))
    return len(gx & gy) / len(gx | gy)


def test_an_earlier_dataset_is_matched_on_its_stored_shingle_sets(tmp_path):
    first = run_level(tmp_path / "old", "near", [doc(BASE), doc(OTHER)])
    assert (first.path / "index" / "sets.json").is_file()
    new = [doc(edited(BASE, 2), source="n"), doc("something else entirely, about cooking rice", source="n")]
    second = run_level(tmp_path / "new", "near", new, against=[str(first.path)])
    r = rejected(second)[new[0]["id"]]
    assert abs(r["similarity"] - grams_jaccard(BASE, edited(BASE, 2))) < 1e-3
    assert "near:cross_decided_on_estimate" not in second.manifest["counters"]
    # An index without sets (deciding on the estimate) is still usable, and says so.
    estimate = run_level(tmp_path / "est", "near", [doc(BASE)], near={"verify": "estimate"})
    assert not (estimate.path / "index" / "sets.json").exists()
    third = run_level(tmp_path / "third", "near", new, against=[str(estimate.path)])
    assert third.manifest["counters"]["near:cross_decided_on_estimate"] >= 1


def test_incremental_near_run_does_not_recompute_the_earlier_signatures(tmp_path, monkeypatch):
    from pipeline.similarity import minhash

    old = [doc(BASE), doc(OTHER)]
    first = run_level(tmp_path / "old", "near", old)
    hashed: list[int] = []
    real = minhash.MinHasher.sketch

    def counting(self, texts, *args, **kwargs):
        hashed.append(len(texts))
        return real(self, texts, *args, **kwargs)

    monkeypatch.setattr(minhash.MinHasher, "sketch", counting)
    new = [doc(edited(BASE, 2), source="n"), doc("something else entirely, about cooking rice", source="n")]
    second = run_level(tmp_path / "new", "near", new, against=[str(first.path)])
    assert sum(hashed) == len(new)  # only the new records were hashed
    assert rejected(second)[new[0]["id"]]["duplicate_of"] == old[0]["id"]


def test_an_index_made_with_other_settings_is_refused(tmp_path):
    first = run_level(tmp_path / "old", "near", [doc(BASE)])
    with pytest.raises(ValueError, match="same settings"):
        run_level(tmp_path / "new", "near", [doc(OTHER)], against=[str(first.path)], near={"num_perm": 64})


def test_semantic_level_drops_paraphrases_on_real_minilm_embeddings(tmp_path):
    rows = [
        qa("How do I reset my password?", "Open settings and choose reset password."),
        qa("How can I reset my password?", "Open settings and choose reset password."),
        qa("What is the capital of France?", "Paris is the capital of France."),
        qa("Recommend a good book about sailing.", "Try 'The Riddle of the Sands'."),
    ]
    cache = tmp_path / "shared-cache"
    out = run_level(tmp_path / "a", "semantic", rows, cache_dir=cache, keep=["earliest"],
                    semantic={"threshold": 0.9, "device": "cpu"})
    assert kept_ids(out) == [rows[0]["id"], rows[2]["id"], rows[3]["id"]]
    r = rejected(out)[rows[1]["id"]]
    assert r["reason"] == "semantic_duplicate" and r["duplicate_of"] == rows[0]["id"] and r["similarity"] >= 0.9
    c = out.manifest["counters"]
    assert c["embeddings:computed"] == 4
    # A second run over the same texts, in a new run folder sharing the cache, embeds nothing.
    again = run_level(tmp_path / "b", "semantic", rows, cache_dir=cache, keep=["earliest"],
                      semantic={"threshold": 0.9, "device": "cpu"})
    assert not again.reused and again.manifest["counters"]["embeddings:computed"] == 0
    assert again.manifest["counters"]["embeddings:cached"] == 4 and kept_ids(again) == kept_ids(out)
    index = np.load(out.path / "index" / "features.npy")
    assert index.shape == (3, 384)
