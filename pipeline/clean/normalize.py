"""Text normalisation: Unicode form, newlines, control characters, whitespace, optional HTML.

Natural-language fields (text, label, system, prompt, response, message contents) get the
full treatment. Code gets only NFC and newline unification: NFKC would rewrite string
literals (fullwidth digits, ligatures) and whitespace is syntax in many languages. The same
holds for fenced code blocks (```...```) inside a natural-language field, so those blocks
are normalised like code while the prose around them is normalised like prose.
"""

from __future__ import annotations

import re
import unicodedata

from pipeline.clean.config import NormalizeConfig

# C0/C1 control characters except \t and \n (\r is unified to \n before this runs), plus the
# byte-order mark, which only ever appears in text as an artefact of file concatenation.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
# Line breaks other than \n (form feed, vertical tab, NEL, Unicode line/paragraph separators):
# in prose they separate lines, so they become \n instead of vanishing with the controls.
_OTHER_BREAKS = re.compile(r"[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Horizontal whitespace (everything \s matches except the newline), and blank-line runs.
_HSPACE = re.compile(r"[^\S\n]+")
_SPACE_AROUND_NL = re.compile(r" ?\n ?")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_FENCE = re.compile(r"(```.*?(?:```|\Z))", re.S)
# "Looks like HTML": an opening, closing or self-closing tag, or a comment. Text such as
# "a < b > c" has no tag name right after "<" and is left alone.
# Attribute runs stop at the next "<", so no attempt scans past it (linear on "<a <a <a ...").
_HTML_TAG = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|!--)")
# Tags after which a reader sees a line break; the parser's text() would glue them together.
_BLOCK_TAG = re.compile(
    r"<(?:br|hr)\b[^<>]*>|</?(?:p|div|li|ul|ol|dl|dt|dd|h[1-6]|tr|table|thead|tbody|blockquote|pre"
    r"|section|article|header|footer|nav|aside|main|figure|figcaption|form|fieldset|address)\b[^<>]*>",
    re.I,
)
_NON_CONTENT_TAGS = ["script", "style", "noscript", "template", "head"]
# Lexbor takes quadratic time on deeply nested unclosed tags (30k "<div>" ~ 1.5 s); past this
# many tags a regex strips them instead.
_MAX_PARSED_TAGS = 5_000
# Tags and comment markers; no pattern reaches past the next "<", so the fallback is linear.
_ANY_TAG = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|!--)|-->")


def fix_newlines(text: str) -> str:
    """Windows and old-Mac line ends become \\n, so line-based scores see real lines."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def unicode_normalize(text: str, form: str) -> str:
    # ASCII is invariant under every normal form; skipping it is the common fast path.
    if form == "none" or text.isascii():
        return text
    return unicodedata.normalize(form, text)


def strip_control(text: str) -> str:
    return _CONTROL.sub("", text)


def collapse_whitespace(text: str) -> str:
    """Runs of spaces/tabs -> one space, no spaces around line ends, at most one blank line."""
    text = _HSPACE.sub(" ", text)
    if "\n" in text:
        text = _SPACE_AROUND_NL.sub("\n", text)
        text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()


def looks_like_html(text: str) -> bool:
    return "<" in text and _HTML_TAG.search(text) is not None


def html_to_text(text: str) -> str:
    """The visible text of an HTML fragment or page, with block elements on their own lines."""
    text = _BLOCK_TAG.sub(lambda m: "\n" + m.group(0), text)
    if text.count("<") > _MAX_PARSED_TAGS:
        return _html_to_text_by_regex(text)
    from selectolax.lexbor import LexborHTMLParser  # only runs with strip_html on

    tree = LexborHTMLParser(text)
    tree.strip_tags(_NON_CONTENT_TAGS)
    root = tree.body if tree.body is not None else tree.root
    return root.text(separator="") if root is not None else ""


def _html_to_text_by_regex(text: str) -> str:
    """Tag removal without a parser, for inputs the parser handles in quadratic time.

    Cruder than the parser (script bodies and comment texts stay), but only tag soup this
    large ever gets here.
    """
    import html

    return html.unescape(_ANY_TAG.sub("", text))


class Normalizer:
    """Normalises field values according to one `NormalizeConfig`."""

    def __init__(self, config: NormalizeConfig):
        self.config = config
        # Code never gets NFKC; "none" switches Unicode normalisation off for code too.
        self.code_form = "none" if config.unicode_form == "none" else "NFC"

    def prose(self, text: str | None) -> str | None:
        """A natural-language field; fenced code blocks inside it are treated as code."""
        if text is None or not self.config.enabled:
            return text
        text = fix_newlines(text)
        if "```" not in text:
            return self._prose_segment(text)
        parts = _FENCE.split(text)  # odd indices are the fenced blocks, fences included
        out = [self._code_segment(p) if i % 2 else self._prose_segment(p) for i, p in enumerate(parts)]
        if not self.config.collapse_whitespace:
            return "".join(out)
        # Prose between blocks loses its edge whitespace in _prose_segment; keep the blocks
        # on their own lines so the Markdown still renders.
        return "\n".join(p for p in out if p).strip()

    def code(self, text: str | None) -> str | None:
        """A code field: NFC and newline unification only, whitespace untouched."""
        if text is None or not self.config.enabled:
            return text
        return unicode_normalize(fix_newlines(text), self.code_form)

    def _prose_segment(self, text: str) -> str:
        c = self.config
        text = _OTHER_BREAKS.sub("\n", text)
        if c.strip_html and looks_like_html(text):
            text = fix_newlines(html_to_text(text))
        text = unicode_normalize(text, c.unicode_form)
        if c.strip_control:
            text = strip_control(text)
        if c.collapse_whitespace:
            text = collapse_whitespace(text)
        return text

    def _code_segment(self, text: str) -> str:
        text = unicode_normalize(text, self.code_form)
        if self.config.strip_control:
            # Keep the block's own layout; only drop characters no editor would show.
            text = strip_control(text)
        return text
