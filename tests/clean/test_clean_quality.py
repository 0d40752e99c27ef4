"""Quality scores on crafted texts, and which text each record kind is scored on."""

from __future__ import annotations

import pytest

from pipeline.clean import quality as q
from pipeline.clean.config import QualityConfig
from pipeline.config_base import Threshold

VARIED = (
    "Rivers carve valleys slowly while farmers plant barley near the northern ridge, "
    "and merchants carry salt, copper, wool and stories between distant mountain towns."
)


def test_chars_and_words():
    s = q.text_scores("two words", "two words", 20)
    assert s["chars"] == 9.0 and s["words"] == 2.0


def test_dup_line_frac():
    assert q.dup_line_frac("alpha\nbeta\ngamma") == 0.0
    # the second and third "same line" are duplicates: 2 * 9 of 9 + 9 + 9 + 5 characters
    assert q.dup_line_frac("same line\nsame line\nsame line\nother") == pytest.approx(18 / 32)


def test_top_2gram_frac():
    assert q.top_2gram_frac(VARIED.lower().split()) == 0.0  # no 2-gram occurs twice
    words = "buy now buy now buy now cheap".split()
    # "buy now" x3, 6 characters each, of 3 * 6 + 5 = 23 word characters
    assert q.top_2gram_frac(words) == pytest.approx(18 / 23)


def test_dup_5gram_frac():
    words = VARIED.lower().split()
    assert q.dup_5gram_frac(words) == 0.0
    repeated = words * 3
    # everything after the first copy is covered by 5-grams seen before
    assert q.dup_5gram_frac(repeated) == pytest.approx(2 / 3, abs=0.01)


def test_symbol_ratio():
    assert q.symbol_ratio("#one #two three", 3) == pytest.approx(2 / 3)
    assert q.symbol_ratio("wait... what\u2026 ok", 3) == pytest.approx(2 / 3)
    assert q.symbol_ratio("", 0) == 0.0


def test_alpha_word_frac():
    assert q.alpha_word_frac("12 34 56 apples".split()) == 0.25
    assert q.alpha_word_frac("Straße 東京 x1".split()) == 1.0  # letters in any script count
    assert q.alpha_word_frac([]) == 0.0


def test_response_copy():
    assert q.response_copy("Say hello to the world", "say hello to the world") == 1.0
    assert q.response_copy("What is two plus two?", "Four.") == 0.0
    assert 0 < q.response_copy("name a red fruit", "a red fruit: apple") < 1


def test_repetitive_text_scores_high_and_varied_text_low():
    repetitive = "\n".join(["click here to win a free prize now"] * 6)
    rep = q.text_scores(repetitive, repetitive, 20)
    ok = q.text_scores(VARIED, VARIED, 20)
    assert rep["dup_line_frac"] > 0.8 and rep["top_2gram_frac"] > 0.1 and rep["dup_5gram_frac"] > 0.8
    assert ok["dup_line_frac"] == ok["top_2gram_frac"] == ok["dup_5gram_frac"] == 0.0


def test_repetition_scores_need_min_words():
    short = "spam spam spam spam spam spam"
    s = q.text_scores(short, short, 20)
    assert s["top_2gram_frac"] == s["dup_5gram_frac"] == s["dup_line_frac"] == 0.0
    assert q.text_scores(short, short, 3)["top_2gram_frac"] > 0


def test_check_threshold_detail_names_score_and_bound():
    f = q.check_threshold("chars", 1.0, Threshold(min=2))
    assert f == q.Failure("too_short", "score_chars=1 < min 2")
    assert q.check_threshold("chars", 1.0, Threshold(min=2, enabled=False)) is None
    assert q.check_threshold("response_copy", None, Threshold(max=0.9)) is None


def test_quality_checks_in_order():
    checks = q.QualityChecks(QualityConfig(words=Threshold(min=50), symbol_ratio=Threshold(max=0.1)))
    scores = {name: 0.0 for name in q.SCORE_NAMES} | {"chars": 10.0, "words": 2.0, "symbol_ratio": 1.0}
    scores["alpha_word_frac"] = 1.0
    assert [f.reason for f in checks.failures(scores)] == ["too_few_words", "too_many_symbols"]


def test_scored_text_per_kind(h):
    # classification: text
    c = h.clean_one(h.classification("one two three"), h.config(language={"enabled": False}))
    assert c["score_words"] == 3 and c["score_response_copy"] is None
    # instruction: prompt + "\n" + response; response_copy set
    i = h.clean_one(h.instruction("one two", "three four five"))
    assert i["score_words"] == 5 and i["score_chars"] == len("one two\nthree four five")
    assert i["score_response_copy"] == 0.0
    # code: length over prompt + code, ratios over the prompt only
    src = "x = [1, 2, 3]  # 4 5 6\n"
    k = h.clean_one(h.code("Make a list.", src))
    assert k["score_chars"] == len("Make a list.\n" + src)
    assert k["score_words"] == len(("Make a list.\n" + src).split())
    assert k["score_alpha_word_frac"] == 1.0  # the code's digits do not count against the prompt
    assert k["score_response_copy"] is None
