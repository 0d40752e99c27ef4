"""Normalisation: Unicode forms, control characters, newlines, whitespace, HTML."""

from __future__ import annotations

import json

from pipeline.clean.normalize import Normalizer, collapse_whitespace, html_to_text, looks_like_html
from pipeline.clean.config import NormalizeConfig


def norm(**kw) -> Normalizer:
    return Normalizer(NormalizeConfig(**kw))


def test_nfkc_folds_compatibility_characters_in_prose():
    # fullwidth letters and digits, the "fi" ligature, a superscript two
    assert norm().prose("Ｈｅｌｌｏ １２３ ﬁne x²") == "Hello 123 fine x2"


def test_nfc_form_keeps_compatibility_characters():
    assert norm(unicode_form="NFC").prose("ﬁne e\u0301") == "ﬁne \u00e9"  # composes, keeps ligature


def test_unicode_form_none_leaves_characters():
    assert norm(unicode_form="none").prose("ﬁne e\u0301") == "ﬁne e\u0301"


def test_code_gets_nfc_only_even_when_prose_gets_nfkc():
    n = norm(unicode_form="NFKC")
    src = 's = "ﬁ１"  # e\u0301\n'
    assert n.code(src) == 's = "ﬁ１"  # \u00e9\n'


def test_code_whitespace_and_indentation_are_untouched():
    src = "def f(x):\n\n\n\n    return  x\t# tab\n"
    assert norm().code(src) == src


def test_code_crlf_becomes_lf():
    assert norm().code("a = 1\r\nb = 2\rc = 3\r\n") == "a = 1\nb = 2\nc = 3\n"


def test_control_characters_removed_but_tab_and_newline_kept():
    out = norm(collapse_whitespace=False).prose("a\x00b\x07c\x1bd\ufeffe\x9bf\tg\nh")
    assert out == "abcdef\tg\nh"


def test_other_line_breaks_become_newlines_in_prose():
    assert norm().prose("page one\x0cpage two\u2028line\x85end") == "page one\npage two\nline\nend"


def test_strip_control_off_keeps_them():
    assert norm(strip_control=False, collapse_whitespace=False).prose("a\x07b") == "a\x07b"


def test_crlf_and_cr_become_lf_in_prose():
    assert norm(collapse_whitespace=False).prose("one\r\ntwo\rthree") == "one\ntwo\nthree"


def test_whitespace_collapse():
    assert collapse_whitespace("  a  \t b \n\n\n\n c \u00a0 d  ") == "a b\n\nc d"


def test_collapse_off_keeps_spacing():
    assert norm(collapse_whitespace=False).prose("a   b\n\n\n\nc") == "a   b\n\n\n\nc"


def test_fenced_code_in_prose_keeps_its_indentation():
    text = "Here  is   code:\n```python\ndef f():\n    return 1\n\n\n\n```\nDone   now."
    out = norm().prose(text)
    assert "def f():\n    return 1\n\n\n\n```" in out
    assert out.startswith("Here is code:\n```python")
    assert out.endswith("```\nDone now.")


def test_html_not_stripped_by_default():
    assert norm().prose("<p>Hello <b>world</b></p>") == "<p>Hello <b>world</b></p>"


def test_html_stripped_when_enabled():
    html = "<div><p>Hello &amp; <b>welcome</b></p><p>Second<br>line</p><script>var x = 1;</script></div>"
    # paragraphs end up separated by a blank line, <br> by a line break
    assert norm(strip_html=True).prose(html) == "Hello & welcome\n\nSecond\nline"


def test_html_stripping_only_when_text_has_a_tag():
    n = norm(strip_html=True)
    # no tag: entities and comparison signs stay as written
    assert n.prose("1 < 2 and 3 > 2, fish &amp; chips") == "1 < 2 and 3 > 2, fish &amp; chips"
    assert not looks_like_html("a < b > c")
    assert looks_like_html("see <a href='x'>this</a>")


def test_html_never_stripped_from_code():
    src = "html = '<p>hi</p>'\n"
    assert norm(strip_html=True).code(src) == src


def test_html_to_text_drops_head_and_style():
    page = "<html><head><title>T</title><style>p{}</style></head><body><p>Body</p></body></html>"
    assert html_to_text(page).strip() == "Body"


def test_normalize_disabled_changes_nothing():
    n = norm(enabled=False)
    assert n.prose("  Ｈｉ\r\n\x00 ") == "  Ｈｉ\r\n\x00 "
    assert n.code("a\r\n") == "a\r\n"


def test_stage_normalizes_every_field_and_records_lineage(h):
    rec = h.instruction(
        prompt="Ｗｈａｔ  is\r\nthis?",
        response="It is\x00 a test.   ",
        system="Be   brief.",
        messages=[{"role": "user", "content": "Ｗｈａｔ  is\r\nthis?"}, {"role": "assistant", "content": "It is a test."}],
    )
    out = h.clean_one(rec, h.config(language={"enabled": False}))
    assert out["kept"]
    assert out["prompt"] == "What is\nthis?"
    assert out["response"] == "It is a test."
    assert out["system"] == "Be brief."
    assert out["messages"][0]["content"] == "What is\nthis?"
    assert out["id"] == rec["id"]  # ids never change in cleaning
    ops = [op["op"] for op in out["operations"]]
    assert ops == ["collect.jsonl", "clean.normalize"]
    params = json.loads(out["operations"][1]["params"])
    assert params["unicode_form"] == "NFKC"
    assert set(params["fields"]) == {"prompt", "response", "system", "messages"}


def test_stage_code_record_keeps_code_layout(h):
    src = "def f(x):\r\n    return x  # ﬁ\r\n"
    out = h.clean_one(h.code("Return x unchanged.", src))
    assert out["kept"]
    assert out["code"] == "def f(x):\n    return x  # ﬁ\n"


def test_unchanged_record_gets_no_normalize_operation(h):
    out = h.clean_one(h.classification("A perfectly clean sentence."))
    assert [op["op"] for op in out["operations"]] == ["collect.jsonl"]


def test_huge_tag_soup_is_stripped_quickly():
    import time

    # The HTML parser is quadratic on deeply nested unclosed tags; big inputs use a regex.
    n = norm(strip_html=True)
    t0 = time.perf_counter()
    assert n.prose("<div>" * 30_000 + "text &amp; more") == "text & more"
    assert n.prose("<p>a &amp; b</p>" * 6_000).startswith("a & b\n\na & b")
    assert time.perf_counter() - t0 < 2.0
