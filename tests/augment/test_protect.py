"""Protected spans: found, masked so augmenters cannot touch them, restored, and losses caught."""

from __future__ import annotations

import random

import pytest

from pipeline.augment.protect import ProtectedSpanLost, mask, protected_spans, spans_preserved, unmask

TEXT = ("Hello {name}, your order 1,250.50 ships on 2026-11-22. Run `pip install curate` or see "
        "https://example.com/docs?id=7 and write to help@example.com.\n```python\nx = 1  # keep\n```\n"
        "Use %s and {{ user.email }} and ${HOME} and <API_KEY>.")


def test_spans_of_every_kind_are_found():
    kinds = {s.kind: s.text for s in protected_spans(TEXT)}
    assert kinds["placeholder"] in ("{name}", "%s", "{{ user.email }}", "${HOME}", "<API_KEY>")
    found = [s.text for s in protected_spans(TEXT)]
    for expected in ("{name}", "1,250.50", "`pip install curate`", "https://example.com/docs?id=7",
                     "help@example.com", "```python\nx = 1  # keep\n```", "%s", "{{ user.email }}", "${HOME}",
                     "<API_KEY>"):
        assert expected in found, expected
    assert "2026" in found and "11" in found  # a date's numbers each stay as they are


def test_masked_text_holds_none_of_the_spans_and_round_trips():
    import re

    masked, spans = mask(TEXT)
    outside_tokens = re.sub(r"zqx\d+qz", " ", masked)
    for s in spans:
        assert s.text not in outside_tokens
    assert "order" in masked and "ships" in masked  # ordinary words stay editable
    assert unmask(masked, spans) == TEXT


def test_word_edits_around_tokens_keep_the_spans():
    masked, spans = mask(TEXT)
    words = masked.split(" ")
    rng = random.Random(0)
    i, j = rng.sample(range(len(words)), 2)
    words[i], words[j] = words[j], words[i]  # a swap may move a span but not change it
    edited = " ".join(w if not w.startswith("ships") else "leaves" for w in words)
    restored = unmask(edited, spans)
    assert spans_preserved(TEXT, restored)


def test_a_deleted_or_repeated_span_is_caught():
    masked, spans = mask("Call {name} at 555 now")
    with pytest.raises(ProtectedSpanLost, match="555"):
        unmask(masked.replace("zqx1qz", ""), spans)
    with pytest.raises(ProtectedSpanLost):
        unmask(masked + " zqx0qz", spans)
    assert not spans_preserved("Call {name} at 555 now", "Call {nom} at 555 now")


def test_text_that_already_holds_a_token_is_refused():
    with pytest.raises(ValueError, match="mask token"):
        mask("a zqx0qz b")
