"""Spans of natural-language text that text augmenters must never alter.

Fenced and inline code, URLs, e-mail addresses, numbers and template placeholders ({name},
{{name}}, %s / %(name)s, $VAR / ${VAR}, <PLACEHOLDER>) carry meaning that a synonym swap, a
word deletion or a round trip through a translator would break. Augmenters work on masked
text: each span becomes an opaque token that has no synonyms and no translation, and the
result is unmasked afterwards. A token that did not survive (deleted, split, altered) makes
the output unusable, and `unmask` says so instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Order matters: earlier patterns win where spans overlap (a URL's digits are part of the URL).
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("fenced_code", r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)"),
    ("inline_code", r"`[^`\n]+`"),
    ("url", r"\b(?:https?|ftp)://[^\s<>\"')\]]+|\bwww\.[^\s<>\"')\]]+"),
    ("email", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    ("placeholder", r"\{\{\s*[\w.]+\s*\}\}|\{[\w.:!]*\}|%\([\w]+\)[sdifr]|%[sdifr]|\$\{?[A-Za-z_]\w*\}?|<[A-Z_][A-Z0-9_]*>"),
    ("number", r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?%?(?![\w])"),
)
_SPAN = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in _PATTERNS), re.DOTALL)
# Lower-case letters and digits only: no tokenizer splits it, no thesaurus knows it.
_TOKEN = "zqx{}qz"
_TOKEN_RE = re.compile(r"zqx(\d+)qz")


class ProtectedSpanLost(ValueError):
    """An augmenter deleted, duplicated or altered a protected span's token."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    text: str


def protected_spans(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), m.lastgroup or "", m.group(0)) for m in _SPAN.finditer(text)]


def mask(text: str) -> tuple[str, list[Span]]:
    """The text with every protected span replaced by a token, and the spans in order."""
    spans = protected_spans(text)
    if _TOKEN_RE.search(text):
        raise ValueError("text already contains a mask token (zqx<n>qz); it cannot be masked safely")
    out, last = [], 0
    for i, s in enumerate(spans):
        out += [text[last:s.start], _TOKEN.format(i)]
        last = s.end
    out.append(text[last:])
    return "".join(out), spans


# A character that every protected span (see _PATTERNS) and every mask token contains: a text
# without one is its own masked text, with no spans.
_MAYBE_PROTECTED = re.compile(r"[`~@{%$<\d]|://|www\.")


def mask_batch(texts: list[str]) -> tuple[list[str | None], list[tuple[int, str, list[Span]]]]:
    """Per text, why it cannot be augmented (`empty`, `unmaskable`) or None; and (index, masked
    text, spans) of the others, in order."""
    reasons: list[str | None] = [None] * len(texts)
    ready: list[tuple[int, str, list[Span]]] = []
    for k, text in enumerate(texts):
        if not text or not text.strip():
            reasons[k] = "empty"
        elif not _MAYBE_PROTECTED.search(text):
            ready.append((k, text, []))
        else:
            try:
                ready.append((k, *mask(text)))
            except ValueError:
                reasons[k] = "unmaskable"
    return reasons, ready


def unmask(text: str, spans: list[Span]) -> str:
    """Put the spans back; each token must appear exactly once (order may change: a word swap)."""
    found = [int(m.group(1)) for m in _TOKEN_RE.finditer(text)]
    if sorted(found) != list(range(len(spans))):
        missing = sorted(set(range(len(spans))) - set(found))
        detail = ", ".join(repr(spans[i].text[:40]) for i in missing) if missing else f"tokens {found}"
        raise ProtectedSpanLost(f"protected span(s) lost or repeated: {detail}")
    return _TOKEN_RE.sub(lambda m: spans[int(m.group(1))].text, text)


def spans_preserved(original: str, augmented: str) -> bool:
    """Every protected span of the original appears, unaltered, in the augmented text."""
    remaining = augmented
    for s in protected_spans(original):
        at = remaining.find(s.text)
        if at < 0:
            return False
        remaining = remaining[:at] + remaining[at + len(s.text):]
    return True
