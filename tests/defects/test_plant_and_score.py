"""Planting known defects (with the real Apertium translator) and scoring stage decisions against them."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline.defects.plant import KINDS, DefectRates, plant
from pipeline.workflows.planted_defects import apertium, split_items
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
