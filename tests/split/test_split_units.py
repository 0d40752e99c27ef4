"""The pieces: keyed hash assignment, config checks, group merging, small-label coverage, near index."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from pipeline.split import ReferenceSet, SplitConfig, assign_split
from pipeline.split.assign import cover_small_labels, hash_fraction
from pipeline.similarity.content import compared_text, jaccard, shingles
from pipeline.similarity.union_find import GroupMerger
from pipeline.split.reference import ReferenceIndex

from tests.split.builders import write_jsonl

RATIOS = (0.8, 0.1, 0.1)


def test_assignment_depends_only_on_group_and_key():
    a = [assign_split(f"g{i}", "k1", RATIOS) for i in range(3000)]
    assert a == [assign_split(f"g{i}", "k1", {"train": 0.8, "validation": 0.1, "test": 0.1}) for i in range(3000)]
    assert a != [assign_split(f"g{i}", "k2", RATIOS) for i in range(3000)]  # the key is a salt
    assert all(0 <= hash_fraction(f"g{i}", "k1") < 1 for i in range(100))
    # A split with ratio 0 never gets a group, not even from float rounding at the top end.
    assert {assign_split(f"g{i}", "k", (0.7, 0.3, 0.0)) for i in range(3000)} == {"train", "validation"}


@pytest.mark.parametrize(
    "config, message",
    [
        ({"ratios": {"train": 0.8, "validation": 0.1, "test": 0.2}}, "must sum to 1, got 1.1"),
        ({"ratios": {"train": 0.9, "validation": 0.2, "test": -0.1}}, "greater than or equal to 0"),
        ({"key": "k" * 65}, "blake2b keys are at most 64"),
        ({"ratio": {"train": 1.0}}, "Extra inputs are not permitted"),
        ({"reference_sets": [{"name": "b", "kind": "code", "path": "x.jsonl", "fields_compared": ["text"]}]},
         "not content fields of code"),
        ({"reference_sets": [{"name": "b", "kind": "code", "path": "x.jsonl", "fields": {"answer": "a"}}]},
         "unknown schema field"),
        ({"reference_sets": [{"name": "b", "kind": "code", "path": "x"}, {"name": "b", "kind": "code", "path": "y"}]},
         "names must be unique"),
    ],
)
def test_invalid_config_fails_at_construction_naming_the_problem(config, message):
    with pytest.raises(ValidationError, match=message):
        SplitConfig.model_validate(config)


def test_ratios_that_sum_to_one_within_tolerance_are_accepted():
    cfg = SplitConfig.model_validate({"ratios": {"train": 0.7, "validation": 0.2, "test": 0.1 + 1e-8}})
    assert cfg.ratios.as_dict()["train"] == 0.7


def test_merged_groups_are_represented_by_their_smallest_id_whatever_the_order():
    pairs = [(b"x", "g5"), (b"y", "g3"), (b"x", "g9"), (b"y", "g9"), (b"z", "g1"), (b"w", "g2"), (b"w", "g7")]
    for seed in range(5):
        shuffled = pairs[:]
        random.Random(seed).shuffle(shuffled)
        m = GroupMerger()
        for content, group in shuffled:
            m.add(content, group)
        assert [m.find(g) for g in ("g5", "g3", "g9", "g1", "g2", "g7")] == ["g3", "g3", "g3", "g1", "g2", "g2"]
        assert m.merged_groups == 3


def _groups_in(split: str, n: int, prefix: str) -> list[str]:
    found = (f"{prefix}{i}" for i in range(10_000) if assign_split(f"{prefix}{i}", "k", RATIOS) == split)
    return [next(found) for _ in range(n)]


def test_a_small_label_with_no_test_group_gets_its_smallest_hash_group_moved_there():
    tiny = set(_groups_in("train", 3, "tiny"))
    big = {f"big{i}" for i in range(300)}
    overrides = cover_small_labels({"tiny": tiny, "big": big}, "k", RATIOS)
    assert overrides == {min(tiny, key=lambda g: hash_fraction(g, "k")): "test"}
    # Fewer than 3 groups: left alone, since giving it both splits would leave nothing over.
    assert cover_small_labels({"pair": set(_groups_in("train", 2, "pair"))}, "k", RATIOS) == {}
    # No train group: one comes from validation, which can spare it, never from the single test group.
    held = _groups_in("validation", 2, "v") + _groups_in("test", 1, "t")
    moved = cover_small_labels({"held": set(held)}, "k", RATIOS)
    assert moved == {min(held[:2], key=lambda g: hash_fraction(g, "k")): "train"}


def test_shingles_and_compared_text():
    assert compared_text({"prompt": "  Hello\tWORLD ", "code": None}, ("prompt", "code")) == "hello world\x1e"
    assert compared_text({"prompt": " ", "code": None}, ("prompt", "code")) is None
    assert len(shingles("one two three four five six")) == 2
    assert shingles("just three, words!") == shingles("just three words") and len(shingles("a b c")) == 1
    assert jaccard(shingles("a b c d e f g"), shingles("a b c d e f g")) == 1.0


def test_prefix_filtered_index_finds_exactly_what_brute_force_finds(tmp_path):
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(3, 25))) for _ in range(150)]
    path = write_jsonl(tmp_path / "ref.jsonl", [{"text": t, "label": "x"} for t in texts])
    index = ReferenceIndex(ReferenceSet(name="r", kind="classification", path=str(path), near_threshold=0.5)).load()
    queries = [" ".join(w if rng.random() > 0.1 else rng.choice(vocab) for w in t.split()) for t in texts]
    queries += [" ".join(rng.choice(vocab) for _ in range(12)) for _ in range(100)]
    hits = 0
    for q in queries:
        qs = shingles(q.lower())
        best = max(jaccard(qs, shingles(t.lower())) for t in texts)
        found = index.match(q.lower())
        assert (found is not None) == (best >= 0.5), (q, best, found)
        hits += found is not None
    assert hits > 50  # the check above was not vacuous
