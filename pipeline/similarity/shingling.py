"""Hashed word or character n-grams of a whole batch of texts at once.

Shingle hashes are persisted and compared across runs (signatures, shingle sets), so every hash
here is a pure function of the text: never Python's salted ``hash()``, only integer arithmetic
on Unicode code points. Per-record Python work is limited to joining the batch into one string;
the ``\\w`` test runs over the whole batch in numpy, unit hashing in one compiled pass
(`kernels`), n-gram building over contiguous slices of the batch (a regex ``findall`` plus
factorising and xxh3 of the words measured 3x slower than the numpy version of all this).

Words are exactly Python's ``\\w+`` on the lower-cased text: a code point is a word character iff
``str.isalnum()`` or it is "_", which is how ``re`` defines ``\\w`` (checked over all of Unicode),
so words follow the Unicode tables of the running Python. Character units are the word
characters with one space between consecutive words: punctuation edits do not move them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np

_SEP = "\x00"  # joins the batch into one string; not a word character
_ASCII_WORD = np.array([chr(c).isalnum() or chr(c) == "_" for c in range(128)])
_WORD_POLY = np.uint64(0xC2B2AE3D27D4EB4F)  # odd multiplier of the per-word code point polynomial
_POLY = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the order-sensitive n-gram polynomial
_CHAR_SALT = np.uint64(0x5851F42D4C957F2D)
# Characters per window of `windows()`. Tokenising and hashing hold ~40 bytes of temporaries
# per character, so this bounds them near 100 MB whatever the caller's batch size.
BATCH_CHARS = 2 << 20


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64 that spreads every input bit over the output.

    Works in place on (and returns) ``x``; uint64 arithmetic wraps, which is the intent. One
    scratch array serves the three shifts (a temporary per shift cost a third more time).
    """
    tmp = np.empty_like(x)
    for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, None)):
        np.right_shift(x, np.uint64(shift), out=tmp)
        x ^= tmp
        if mult is not None:
            x *= np.uint64(mult)
    return x


def arange_within(counts: np.ndarray) -> np.ndarray:
    """[0..c0), [0..c1), ... concatenated: the offset of each element inside its group."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


def span_positions(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """[s0..s0+n0), [s1..s1+n1), ... concatenated: the positions of consecutive spans of an
    array (one repeat: measured 20% faster than repeat(starts) + arange_within(sizes))."""
    sizes = np.asarray(sizes, dtype=np.int64)
    ends = np.cumsum(sizes)
    return np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(
        np.asarray(starts, dtype=np.int64) - (ends - sizes), sizes)


def _code_points(texts: Sequence[str | None]) -> np.ndarray:
    """UTF-32 code points of the lower-cased batch, documents separated by 0."""
    texts = ["" if t is None else t for t in texts]
    joined = _SEP.join(texts)
    if joined.count(_SEP) != max(len(texts) - 1, 0):  # a NUL inside a text would split it
        joined = _SEP.join(t.replace(_SEP, " ") for t in texts)
    return np.frombuffer(joined.lower().encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _is_word_char(points: np.ndarray) -> np.ndarray:
    """``\\w`` for every code point: a table for ASCII, ``str.isalnum`` once per other character."""
    word = _ASCII_WORD[np.minimum(points, 127)]
    other = np.flatnonzero(points >= 128)
    if len(other):
        uniq, inverse = np.unique(points[other], return_inverse=True)
        word[other] = np.fromiter((chr(c).isalnum() for c in uniq.tolist()), bool, len(uniq))[inverse]
    return word


def _points_and_words(texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    points = _code_points(texts)
    return points, _is_word_char(points)


def word_units(texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """A 64-bit hash of every ``\\w+`` word of the batch (the sum of code point * P^position,
    then mixed), and each text's count of words."""
    from pipeline.similarity import kernels

    return kernels.word_units(*_points_and_words(texts), len(texts), _WORD_POLY)


def char_units(texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """A hash of every character; punctuation and space between words count as one space.

    Dropping punctuation keeps char n-grams robust to punctuation edits and makes a
    punctuation-only text empty, as in the word unit. The space is the first character after
    a word that another word of the same document follows, read as a space.
    """
    from pipeline.similarity import kernels

    return kernels.char_units(*_points_and_words(texts), len(texts), _CHAR_SALT)


def _valid_starts(lengths: np.ndarray, n: int, total_units: int) -> np.ndarray:
    """Per unit position: whether the n units starting there stay inside a document of at least
    n units (the last n-1 starts of a document would run into the next one)."""
    ends = np.cumsum(lengths)
    valid = np.ones(total_units, bool)
    full = lengths >= n
    valid[np.repeat(ends[full], n - 1) - np.tile(np.arange(1, n), int(full.sum()))] = False
    valid[np.repeat(~full, lengths)] = False
    return valid


def _short_layout(units: np.ndarray, lengths: np.ndarray, counts: np.ndarray, n: int
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
    short = (lengths > 0) & (lengths < n)
    if not short.any():
        return None, None
    slots = np.zeros(int(counts.sum()), bool)
    slots[(np.cumsum(counts) - counts)[short]] = True
    return slots, _short_ngrams(units, (np.cumsum(lengths) - lengths)[short], lengths[short], n)


def _short_ngrams(units: np.ndarray, starts: np.ndarray, widths: np.ndarray, n: int) -> np.ndarray:
    """One polynomial over all the units of each document shorter than n units."""
    padded = np.concatenate([units, np.zeros(n, np.uint64)])  # starts + k stays in range
    acc = np.zeros(len(starts), np.uint64)
    for k in range(n):
        acc = np.where(k >= widths, acc, acc * _POLY + padded[starts + k])
    return acc


def shingle_counts(lengths: np.ndarray, n: int) -> np.ndarray:
    """Shingles per document of `lengths` units: one per start, one for a document of 1..n-1
    units, none for an empty one."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.where(lengths >= n, lengths - n + 1, np.minimum(lengths, 1))


def layout(units: np.ndarray, lengths: np.ndarray, n: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Where a batch's shingles come from, for a polynomial computed at every unit position:
    (shingles per document, `_valid_starts`, per shingle whether it is the one shingle of a
    document of 1..n-1 units, those documents' unmixed polynomials); the last two are None
    when there is no such document."""
    lengths = np.asarray(lengths, dtype=np.int64)
    counts = shingle_counts(lengths, n)
    slots, short = _short_layout(units, lengths, counts, n)
    return counts, _valid_starts(lengths, n, len(units)), slots, short


def ngrams(units: np.ndarray, lengths: np.ndarray, n: int, salt: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hash every n consecutive units of each document, never across a document boundary.

    A document with 1..n-1 units becomes one shingle of all its units; one with none has no
    shingle. `salt` is mixed into every hash (0: none). Returns the shingle hashes (documents
    in order) and the shingle count of each. The polynomial is computed at every unit over
    contiguous slices of the whole batch (Horner: ((u0 P + u1) P + u2) ..., the value a
    document at a time would give), then the starts that stay inside a document are kept.
    """
    counts, valid, slots, short = layout(units, lengths, n)
    m = len(units) - n + 1
    if m > 0:
        acc = units[:m].copy()
        for k in range(1, n):
            acc *= _POLY
            acc += units[k: m + k]
        hashes = acc[valid[:m]]
    else:
        hashes = np.zeros(0, np.uint64)
    if slots is not None:
        out = np.empty(len(slots), np.uint64)
        out[~slots] = hashes
        out[slots] = short
        hashes = out
    if salt:
        hashes ^= np.uint64(salt)
    return mix64(hashes), counts


class Shingler:
    """Word or character n-grams, hashed to uint64."""

    def __init__(self, ngram: int = 3, unit: Literal["word", "char"] = "word", salt: int = 0) -> None:
        if int(ngram) < 1:
            raise ValueError(f"ngram must be >= 1, got {ngram}")
        if unit not in ("word", "char"):
            raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
        self.ngram, self.unit, self.salt = int(ngram), unit, int(salt)

    def units(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """The uint64 hash of every unit (word or character) of the batch, and each text's count."""
        return (word_units if self.unit == "word" else char_units)(texts)

    def hashes(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """The uint64 hashes of every n-gram of the batch (documents in order, repeats kept)
        and the count of each document's."""
        return ngrams(*self.units(texts), self.ngram, self.salt)


def windows(texts: Sequence[str | None]) -> Iterator[tuple[int, int]]:
    """(lo, hi): runs of consecutive texts of about BATCH_CHARS characters (a text is never
    split), so the temporary memory of hashing a run stays bounded whatever the batch size."""
    sizes = np.fromiter((len(t) if t else 0 for t in texts), np.int64, len(texts))
    window = (np.cumsum(sizes) - sizes) // BATCH_CHARS  # which window each text starts in
    cuts = np.append(np.flatnonzero(np.diff(window, prepend=-1)), len(texts))
    yield from zip(cuts[:-1].tolist(), cuts[1:].tolist())
