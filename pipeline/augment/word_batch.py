"""The synonym augmenter's batch preparation, without `Token` objects: mask, tokenize, split into sentences.

`match_tokens` gives `wordnet_lookup.tokenize`'s tokens (same text, offsets, order, `word`
flags; checked by tests/augment/test_words.py) as regex matches from one pass of one pattern,
the word test folded into the pattern instead of run per token in Python.
"""

from __future__ import annotations

import re

from pipeline.augment.base import Edit
from pipeline.augment.protect import mask_batch

# `_TOKEN_RE` with words told apart: group 1 is a token that `tokenize` calls a word, group 2 one
# it calls a word unless a letter follows its apostrophe. Same tokens, same offsets: both match
# only where `\w+(?:-\w+)*` matches, to the same end (at least two ASCII letters, not after a
# letter or digit, i.e. a mask token, not before a word character or -\w). Group 1 can go first,
# the most common token: it never matches where a mask token or a ``do``/``n't`` piece does.
_W = r"(?<!\w)(?=[A-Za-z](?:[A-Za-z]|-[A-Za-z]))([A-Za-z]+(?:-[A-Za-z]+)*)"
_FAST_RE = re.compile(rf"(?-i:{_W}(?![\w'\u2019]|-\w))|zqx\d+qz|\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b"
                      rf"|(?-i:{_W}(?=['\u2019]))|\w+(?:-\w+)*|[^\w\s]", re.IGNORECASE)


def match_tokens(text: str) -> tuple[list[re.Match], list[int]]:
    """`tokenize(text)` as regex matches (the same tokens, offsets and order) and the indices of
    its words; line numbers left out (no token spans a newline). Several times faster."""
    ms = list(_FAST_RE.finditer(text))
    if "'" not in text and "\u2019" not in text:  # no group 2
        return ms, [i for i, m in enumerate(ms) if m.lastindex]
    return ms, [i for i, m in enumerate(ms) if m.lastindex == 1
                or (m.lastindex == 2 and not text[m.end() + 1:m.end() + 2].isalpha())]


def prepare_batch(texts: list[str]) -> tuple[list[Edit | None], list[tuple], list[str], list[int]]:
    """Failed edits (empty, unmaskable) by position, None elsewhere; (index, masked text, spans,
    matches, word indices, token strings) of the others; all their tokens; sentence lengths
    (each line of a text is a sentence, as `WordNetLookup.tag_batch` has it)."""
    reasons, ready = mask_batch(texts)
    out: list[Edit | None] = [None if r is None else Edit.failed(r) for r in reasons]
    todo: list[tuple[int, str, list, list[re.Match], list[int], list[str]]] = []
    flat: list[str] = []
    lengths: list[int] = []
    for k, masked, spans in ready:
        ms, words = match_tokens(masked)
        strs = [m[0] for m in ms]
        todo.append((k, masked, spans, ms, words, strs))
        flat += strs
        if "\n" in masked:  # no token spans a newline
            lines = [masked.count("\n", 0, m.start()) for m in ms]
            cuts = [i for i in range(1, len(ms)) if lines[i] != lines[i - 1]]
            lengths += [b - a for a, b in zip([0, *cuts], [*cuts, len(ms)])]
        else:
            lengths.append(len(ms))
    return out, todo, flat, lengths
