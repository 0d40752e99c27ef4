"""Word n-gram overlap with reference texts: the decontamination check of GPT-3, DCLM and datatrove.

Texts are lower-cased NFKC words (runs of letters and digits: punctuation and spacing do not
break a match). Every n-gram of every reference text is hashed to 64 bits and kept in one
sorted array (8 bytes an n-gram, with the set and record it came from): a hashed set that
answers a whole batch of windows with one binary search. A reference text shorter than n words
counts as one gram of its own length when it has at least `min_words`, so a short benchmark
question pasted inside a longer answer is still found.

The windows of a batch of texts are hashed together in numpy: a token's hash comes from a
per-process dictionary (stable blake2b, not Python's salted `hash`), and a window's hash is a
polynomial over its token hashes, modulo 2^64.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"[^\W_]+")
_P = np.uint64(0x100000001B3)  # the FNV-64 prime: an odd multiplier mixes every token into the window
_LEN_SALT = np.uint64(0x9E3779B97F4A7C15)


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


class TokenHasher:
    """Stable 64-bit token hashes, memoised (a corpus has far fewer distinct words than words)."""

    def __init__(self) -> None:
        self._memo: dict[str, int] = {}

    def __call__(self, tokens: list[str]) -> np.ndarray:
        memo = self._memo
        try:  # the common case, every word seen before: one pass in C
            return np.fromiter(map(memo.__getitem__, tokens), np.uint64, len(tokens))
        except KeyError:
            for t in set(tokens).difference(memo):
                memo[t] = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            return np.fromiter(map(memo.__getitem__, tokens), np.uint64, len(tokens))


def window_hashes(tokens: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(hash, start position) of every n-word window inside one text; texts are tokens[offsets[i]:offsets[i+1]]."""
    total = len(tokens)
    if total < n:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    h = np.zeros(total - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            h = h * _P + tokens[j:total - n + 1 + j]
        h ^= np.uint64(n) * _LEN_SALT
    starts = np.arange(total - n + 1, dtype=np.int64)
    # A window is valid when it ends inside the text it starts in.
    text_of = np.searchsorted(offsets, starts, side="right") - 1
    valid = starts + n <= offsets[text_of + 1]
    return h[valid], starts[valid]


@dataclass
class Match:
    text: int  # index of the scanned text
    start: int  # first matching word (in the text's words)
    end: int  # one past the last matching word of the longest run of overlapping matches
    grams: int  # matching windows in the text
    windows: int  # windows in the text
    ref_set: int
    ref_record: int


class NgramIndex:
    """The n-grams of reference texts, searchable by batch."""

    def __init__(self, n: int = 13, min_words: int = 8):
        if not 1 <= min_words <= n:
            raise ValueError(f"min_words must be between 1 and n={n}, got {min_words}")
        self.n, self.min_words = n, min_words
        self.hasher = TokenHasher()
        self.lengths: list[int] = []  # window lengths in use: n, and those of short references
        self._hashes = np.empty(0, np.uint64)
        self._sets = np.empty(0, np.int32)
        self._records = np.empty(0, np.int32)
        self.too_short = 0

    def build(self, texts_by_set: list[list[str]]) -> "NgramIndex":
        hashes, sets, records, lengths = [], [], [], {self.n}
        for s, texts in enumerate(texts_by_set):
            for r, text in enumerate(texts):
                tokens = self.hasher(words(text))
                length = min(self.n, len(tokens))
                if length < self.min_words:
                    self.too_short += 1
                    continue
                lengths.add(length)
                h, _ = window_hashes(tokens, np.array([0, len(tokens)]), length)
                h = np.unique(h)
                hashes.append(h)
                sets.append(np.full(len(h), s, np.int32))
                records.append(np.full(len(h), r, np.int32))
        if hashes:
            all_h = np.concatenate(hashes)
            order = np.argsort(all_h, kind="stable")  # equal hashes keep the first set and record first
            self._hashes, self._sets = all_h[order], np.concatenate(sets)[order]
            self._records = np.concatenate(records)[order]
        self.lengths = sorted(lengths, reverse=True)
        return self

    @property
    def size(self) -> int:
        return len(self._hashes)

    def _lookup(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.searchsorted(self._hashes, h)
        pos = np.minimum(pos, max(len(self._hashes) - 1, 0))
        hit = self._hashes[pos] == h if len(self._hashes) else np.zeros(len(h), bool)
        return hit, pos

    def scan(self, texts: list[str], min_matches: int = 1) -> list[Match | None]:
        """Per text, its overlap with the references (the longest run of matching windows), or None."""
        token_lists = [words(t) for t in texts]
        sizes = np.array([len(t) for t in token_lists], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        tokens = self.hasher([w for ws in token_lists for w in ws])
        per_text: dict[int, list[tuple[int, int, int]]] = {}  # text -> (start, length, index position)
        windows = np.zeros(len(texts), np.int64)
        for length in self.lengths:
            h, starts = window_hashes(tokens, offsets, length)
            text_of = np.searchsorted(offsets, starts, side="right") - 1
            if length == self.n:
                windows = np.bincount(text_of, minlength=len(texts))
            hit, pos = self._lookup(h)
            for i in np.flatnonzero(hit):
                t = int(text_of[i])
                per_text.setdefault(t, []).append((int(starts[i] - offsets[t]), length, int(pos[i])))
        out: list[Match | None] = [None] * len(texts)
        for t, hits in per_text.items():
            if len(hits) < min_matches:
                continue
            start, end, first = _longest_run(hits)
            out[t] = Match(t, start, end, len(hits), max(int(windows[t]), 1), int(self._sets[first]),
                           int(self._records[first]))
        return out


def _longest_run(hits: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """The longest stretch of words covered by overlapping matching windows, and its first window."""
    hits.sort()
    best = cur = (hits[0][0], hits[0][0] + hits[0][1], hits[0][2])
    for start, length, pos in hits[1:]:
        if start <= cur[1]:
            cur = (cur[0], max(cur[1], start + length), cur[2])
        else:
            cur = (start, start + length, pos)
        if cur[1] - cur[0] > best[1] - best[0]:
            best = cur
    if cur[1] - cur[0] > best[1] - best[0]:
        best = cur
    return best
