"""Planting known defects (with the real Apertium translator) and scoring stage decisions against them."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa
import pytest

from pipeline.defects.plant import KINDS, DefectRates, plant
from pipeline.workflows.planted_defects import apertium, load_items, random_review, relabelled, split_items
from pipeline.defects.config import DefectBenchConfig
from pipeline.defects.score import Flag, detections, precisions

SENTENCES = ["The committee met on Tuesday to review the budget for the coming year and the new road plans.",
             "Rain fell over the valley for three days, and the river rose above the old stone bridge.",
             "She opened the letter slowly, read it twice, and then put it back into the drawer unsigned.",
             "The engine of the small plane coughed twice before it settled into a steady, even hum again."]


def items(n: int, prefix: str) -> list[dict]:
    return [{"item": f"{prefix}{i}", "text": f"{SENTENCES[i % 4]} Record number {i} of {prefix}.",
             "label": ("news", "fiction")[i % 2], "group": f"{prefix}g{i // 2}"} for i in range(n)]


@pytest.fixture(scope="module")
def planted():
    train, test = items(200, "tr"), items(50, "te")
    corrupted, truth = plant(train, test, DefectRates(), seed=3, translate=apertium)
    return train, test, corrupted, truth


def test_every_kind_is_planted_with_its_count_and_nothing_is_lost(planted):
    train, test, corrupted, truth = planted
    kinds = Counter(t["kind"] for t in truth)
    rates = DefectRates()
    for kind in KINDS:
        expected = round(getattr(rates, kind) * (len(test) if kind == "contamination" else len(train)))
        assert kinds[kind] == expected, kind
    new = [t for t in truth if t["kind"] not in ("label_flip", "pii")]
    assert len(corrupted) == len(train) + len(new)  # in-place defects replace, the others add
    by_item = {c["item"]: c for c in corrupted}
    assert {it["item"] for it in train} <= set(by_item)
    for t in truth:
        assert by_item[t["item"]]["planted"] == t["kind"]
    flips = [t for t in truth if t["kind"] == "label_flip"]
    original = {it["item"]: it["label"] for it in train}
    assert all(by_item[t["item"]]["label"] != original[t["item"]] for t in flips)
    spanish = [by_item[t["item"]]["text"] for t in truth if t["kind"] == "other_language"]
    assert any(w in s.split() for s in spanish for w in ("el", "la", "de", "y"))  # Apertium really translated
    test_texts = {it["text"] for it in test}
    contamination = [by_item[t["item"]] for t in truth if t["kind"] == "contamination"]
    assert sum(c["text"] in test_texts for c in contamination) == (len(contamination) + 1) // 2


def test_splits_keep_groups_together():
    cfg = DefectBenchConfig(test_share=0.3, validation_share=0.2)
    parts = split_items(items(400, "x"), cfg)
    where = {it["group"]: name for name, part in parts.items() for it in part}
    assert sum(map(len, parts.values())) == 400
    assert all(where[it["group"]] == name for name, part in parts.items() for it in part)
    assert 0.2 < len(parts["test"]) / 400 < 0.4


def test_detection_credits_a_pair_when_either_copy_is_rejected(planted):
    _, _, _, truth = planted
    exact = [t for t in truth if t["kind"] == "exact_duplicate"]
    # dedup rejected the copy of the first duplicate and the original of the second; nothing else
    flags = {"dedup_exact": {exact[0]["item"]: Flag("dedup_exact", "duplicate"),
                             exact[1]["of"]: Flag("dedup_exact", "duplicate"),
                             "unrelated": Flag("dedup_exact", "duplicate")}}
    found = {d.kind: d for d in detections(truth, flags, set())}
    assert found["exact_duplicate"].caught == 2 and found["exact_duplicate"].planted == len(exact)
    assert found["garbled"].caught == 0
    (stage, pii) = precisions(truth, flags, set())
    assert (stage.flagged, stage.explained) == (3, 2) and stage.unplanted_reasons == {"duplicate": 1}
    assert pii.flagged == 0


def test_pair_flips_always_give_the_next_class_and_uniform_flips_any_other():
    train = [{**it, "label": ("a", "b", "c")[i % 3]} for i, it in enumerate(items(300, "tr"))]
    rates = DefectRates(**{k: 0.0 for k in KINDS if k not in ("label_flip",)}, label_flip=0.3)
    original = {it["item"]: it["label"] for it in train}
    _, pair_truth = plant(train, [], rates, seed=1, translate=apertium, flip="pair")
    nxt = {"a": "b", "b": "c", "c": "a"}
    assert len(pair_truth) == 90
    assert all(t["detail"] == f"{original[t['item']]}->{nxt[original[t['item']]]}" for t in pair_truth)
    _, uniform_truth = plant(train, [], rates, seed=1, translate=apertium, flip="uniform")
    targets = Counter(t["detail"] for t in uniform_truth)
    assert len(targets) == 6  # a->b, a->c, b->a, b->c, c->a, c->b all occur
    assert all(src != dst for src, dst in (d.split("->") for d in targets))


def test_load_items_takes_at_most_per_group_records_of_each_group(tmp_path):
    path = tmp_path / "clean.jsonl"
    path.write_text("".join(json.dumps({"body": f"text {i}", "y": "ab"[i % 2], "doc": i // 5}) + "\n"
                            for i in range(100)))
    cfg = DefectBenchConfig(data=str(path), text_field="body", label_field="y", group_field="doc", per_group=2,
                            max_items=30)
    got = load_items(cfg)
    per_group = Counter(it["group"] for it in got)
    assert len(got) == 30 and len(per_group) == 15 and set(per_group.values()) == {2}
    assert load_items(cfg) == got  # seeded
    whole = load_items(cfg.model_copy(update={"per_group": None, "max_items": None}))
    assert len(whole) == 100


def test_review_restores_planted_flips_among_the_reviewed_records_only():
    labels = ["a", "b", "a", "b"]
    meta = [json.dumps({"item": f"i{k}", "planted": p}) for k, p in enumerate(["label_flip", "label_flip", "clean",
                                                                               "exact_duplicate"])]
    table = pa.table({"id": ["r0", "r1", "r2", "r3"], "label": labels, "meta": meta,
                      "parent_id": pa.array([None] * 4, pa.string())})
    truth = [{"item": "i0", "kind": "label_flip", "of": "i0", "detail": "b->a"},
             {"item": "i1", "kind": "label_flip", "of": "i1", "detail": "a->b"}]
    out = relabelled(table, {"r0", "r2", "r3"}, truth)
    assert out.column("label").to_pylist() == ["b", "b", "a", "b"]  # r1 was not reviewed: still wrong
    # The corrected record is a new one with the old as its parent; the others keep their ids.
    ids = out.column("id").to_pylist()
    assert ids[0] not in ("r0", "r1", "r2", "r3") and ids[1:] == ["r1", "r2", "r3"]
    assert out.column("parent_id").to_pylist() == ["r0", None, None, None]
    picked = random_review(table, 2, seed=0)
    assert len(picked) == 2 and picked <= set(table.column("id").to_pylist())
    assert random_review(table, 2, seed=0) == picked
