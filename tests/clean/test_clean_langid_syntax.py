"""Language identification (and its agreement with py3langid) and Python syntax checks."""

from __future__ import annotations

import random

import pytest

from pipeline.clean.code_syntax import is_python, python_syntax_error, syntax_error
from pipeline.clean.langid import UNDETERMINED, LanguageScorer, load_identifier


@pytest.fixture(scope="module")
def scorer() -> LanguageScorer:
    s = LanguageScorer(min_chars=40, sample_chars=2000)
    s.setup()
    return s


def test_english_german_french(scorer, h):
    results = scorer.classify_many([h.ENGLISH, h.GERMAN, h.FRENCH])
    assert [lang for lang, _ in results] == ["en", "de", "fr"]
    assert all(conf is not None and conf > 0.9 for _, conf in results)


def test_short_text_is_undetermined(scorer):
    assert scorer.classify("Hello there.") == (UNDETERMINED, None)
    assert scorer.classify("") == (UNDETERMINED, None)
    assert scorer.classify(None) == (UNDETERMINED, None)


def test_batch_identifier_agrees_with_py3langid():
    """The vectorised scorer must give py3langid's answer (same language, same probability)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz äöüéèàçñß,.!?\n"
    texts = [
        "The quick brown fox jumps over the lazy dog.",
        "Der schnelle braune Fuchs springt über den faulen Hund.",
        "SHOUTING IN CAPITAL LETTERS IS LOWER-CASED FIRST",
        "Привет, как у тебя дела сегодня вечером?",
        "これは日本語の文章です。今日はいい天気ですね。",
        "e\u0301te\u0301 (decomposed accents are composed first)",
        "!!!",
        "x" * 3000,
        "これは日本語の長い文章です。" * 150,  # ~6 kB: a product group of its own
        "Ein ziemlich langer deutscher Satz über das Wetter. " * 60,
    ] + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 600))) for _ in range(150)]
    got = load_identifier().classify_many(texts)
    for text, (lang, conf) in zip(texts, got):
        ref_lang, ref_conf = reference.classify(text)
        assert lang == ref_lang, text
        assert conf == pytest.approx(ref_conf, abs=1e-4), text


def test_scorer_is_pickled_without_the_model(scorer):
    import pickle

    assert len(pickle.dumps(scorer)) < 10_000


def test_stage_language_decisions(h):
    cfg = h.config()
    assert h.clean_one(h.classification(h.ENGLISH), cfg)["lang"] == "en"
    de = h.clean_one(h.classification(h.GERMAN), cfg)
    assert not de["kept"] and de["reason"] == "wrong_language"
    assert de["record"]["lang"] == "de" and "allowed ['en']" in de["detail"]
    # German allowed
    assert h.clean_one(h.classification(h.GERMAN), h.config(language={"allowed": ["en", "de"]}))["kept"]
    # short text: und, not judged
    short = h.clean_one(h.classification("Kurz und gut."), cfg)
    assert short["kept"] and short["lang"] == "und" and short["score_lang_conf"] is None


def test_uncertain_prediction_is_not_acted_on(h):
    out = h.clean_one(h.classification(h.FRENCH), h.config(language={"min_confidence": 1.0}))
    assert out["kept"] and out["lang"] == "fr" and out["score_lang_conf"] < 1.0


def test_no_linguistic_content_is_not_a_wrong_language():
    from pipeline.clean.record import RecordCleaner
    from pipeline.clean.config import CleanConfig

    cleaner = RecordCleaner(CleanConfig())
    assert cleaner._language_failure("zxx", 0.99) is None
    assert cleaner._language_failure("und", None) is None
    assert cleaner._language_failure("de", 0.99).reason == "wrong_language"


def test_language_disabled_still_scores(h):
    out = h.clean_one(h.classification(h.FRENCH), h.config(language={"enabled": False}))
    assert out["kept"] and out["lang"] == "fr" and out["score_lang_conf"] > 0.9


def test_python_syntax_ok_and_broken():
    assert python_syntax_error("def f(x):\n    return x\n") is None
    err = python_syntax_error("def f(x)\n    return x\n")
    assert err is not None and err.startswith("line 1:")
    assert python_syntax_error("x = 1\nif x:\nprint(x)\n").startswith("line 3:")  # IndentationError


def test_pathological_sources_do_not_crash():
    assert python_syntax_error("x = 1\x00") is not None  # NUL byte
    assert python_syntax_error("(" * 100_000 + ")" * 100_000) is not None  # too deeply nested
    assert python_syntax_error("s = '\\d'\n") is None  # invalid escape is only a warning


def test_only_python_is_judged():
    assert is_python("Python") and is_python(" python3 ") and is_python("py")
    assert syntax_error("this is { not javascript", "javascript") is None
    assert syntax_error("def f(:", "PYTHON") is not None


def test_stage_syntax_error(h):
    out = h.clean_one(h.code("Return x plus one.", "def f(x):\n    return x +\n"))
    assert not out["kept"] and out["reason"] == "syntax_error"
    assert "line 2" in out["detail"]
    ok = h.clean_one(h.code("Return x plus one.", "function f(x) { return x + }", language="javascript"))
    assert ok["kept"]
    off = h.clean_one(h.code("Return x plus one.", "def f(:"), h.config(code_syntax={"enabled": False}))
    assert off["kept"]
