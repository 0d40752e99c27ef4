"""Budgets: copies per record and per label, minority balancing, the per-record cap."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline.augment.budget import BALANCE_OVERSAMPLE, Budget
from pipeline.augment.config import AugmenterConfig, BudgetConfig


def rows(label: str, n: int) -> list[dict]:
    return [{"id": f"{label}{i}", "kind": "classification", "label": label} for i in range(n)]


SPEC = AugmenterConfig(method="remove_comments")  # the budget reads only copies and name


def test_label_multipliers_scale_copies_reproducibly():
    spec = SPEC.model_copy(update={"copies": 2})
    b = Budget(BudgetConfig(label_multipliers={"spam": 1.5, "ham": 0}), Counter())
    spam = [b.copies_for(r, spec) for r in rows("spam", 1000)]
    assert set(spam) == {3} and all(b.copies_for(r, spec) == 0 for r in rows("ham", 10))
    half = Budget(BudgetConfig(label_multipliers={"x": 0.25}), Counter())
    got = [half.copies_for(r, spec) for r in rows("x", 2000)]
    assert set(got) == {0, 1} and 0.4 < sum(got) / 2000 < 0.6  # 2 x 0.25 = 0.5 on average
    assert got == [half.copies_for(r, spec) for r in rows("x", 2000)]
    other = {"id": "i", "kind": "instruction", "label": None}
    assert b.copies_for(other, spec) == 2


def test_balance_fills_minority_labels_to_the_target_and_no_further():
    spec = SPEC.model_copy(update={"kinds": ["classification"]})
    counts = Counter({"ham": 100, "spam": 40, "rare": 10})
    b = Budget(BudgetConfig(balance=True, balance_target=0.8), counts)
    assert b.quota == {"ham": 0, "spam": 40, "rare": 70}
    assert b.copies_for(rows("ham", 1)[0], spec) == 0
    assert b.copies_for(rows("spam", 1)[0], spec) == 2  # ceil(1.5 * 40 / 40)
    assert b.copies_for(rows("rare", 1)[0], spec) == -(-int(BALANCE_OVERSAMPLE * 70) // 10)
    admitted = Counter()
    for r in rows("spam", 40) * 2:
        admitted[b.admit(r)] += 1
    assert admitted == {None: 40, "budget:label_quota": 40}
    assert b.counters()["budget:short:rare"] == 70 and "budget:short:spam" not in b.counters()
    # A later augmenter sees what earlier ones added: its shortfall, spread over the originals.
    later = Budget(BudgetConfig(balance=True, balance_target=0.8), Counter({"ham": 100, "spam": 70}),
                   originals=Counter({"ham": 100, "spam": 40}))
    assert later.quota["spam"] == 10 and later.copies_for(rows("spam", 1)[0], spec) == 1


def test_per_record_cap():
    b = Budget(BudgetConfig(max_per_record=2), Counter(), children=Counter({"a": 1}))
    r = {"id": "a", "kind": "code", "label": None}
    # One output made by an earlier augmenter already counts against the cap.
    assert [b.admit(r) for _ in range(2)] == [None, "budget:per_record"]


def test_balance_and_multipliers_are_exclusive():
    with pytest.raises(ValueError, match="not both"):
        BudgetConfig(balance=True, label_multipliers={"a": 2})
    with pytest.raises(ValueError, match=">= 0"):
        BudgetConfig(label_multipliers={"a": -1})
