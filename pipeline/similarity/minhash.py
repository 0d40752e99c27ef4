"""MinHash signatures of word or character n-grams, computed for a whole batch at once.

Signatures are persisted and compared across runs (incremental dedup, reference sets), so every
hash here is a pure function of the text and the seed: never Python's salted ``hash()``, only
integer arithmetic on Unicode code points and permutations drawn from
``np.random.default_rng(seed)``. Per-record Python work is limited to joining the batch into one
string; tokenising, word hashing, n-gram building and the min over shingles are numpy over the
whole batch (a regex ``findall`` plus factorising and xxh3 of the words measured 3x slower).

Words are exactly Python's ``\\w+`` on the lower-cased text: a code point is a word character iff
``str.isalnum()`` or it is "_", which is how ``re`` defines ``\\w`` (checked over all of Unicode),
so words follow the Unicode tables of the running Python. A text with no shingles (None, "" or
only punctuation) gets the all-0xFFFFFFFF row, the min over an empty set; ``is_empty`` finds such
rows so LSH never pairs them (two empty rows would look identical).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

# Names the hashing scheme (tokens, word and n-gram hashes, permutations). Persisted signatures
# are comparable only under the same scheme, seed, num_perm, ngram, unit and Unicode tables.
SCHEME = "minhash-mulshift-v1"
MAX_HASH = np.uint32(0xFFFFFFFF)
_SEP = "\x00"  # joins the batch into one string; not a word character
_SPACE = np.uint32(32)
_ASCII_WORD = np.array([chr(c).isalnum() or chr(c) == "_" for c in range(128)])
_WORD_POLY = np.uint64(0xC2B2AE3D27D4EB4F)  # odd multiplier of the per-word code point polynomial
_POLY = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the order-sensitive n-gram polynomial
_CHAR_SALT = np.uint64(0x5851F42D4C957F2D)
# One (permutations x shingles) uint64 block. With permutations as rows, reduceat runs along
# contiguous memory (measured 2.5x faster than shingles as rows), and a cache-sized block beats
# a large one; it also bounds the memory of a batch of long documents.
_BLOCK_BYTES = 4 << 20
# Characters per sub-batch of a signatures() call. Tokenising and hashing hold ~40 bytes of
# temporaries per character, so this bounds them near 100 MB whatever the caller's batch size.
_BATCH_CHARS = 2 << 20


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64 that spreads every input bit over the output.

    Works in place on (and returns) ``x``; uint64 arithmetic wraps, which is the intent.
    """
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def is_empty(signatures: np.ndarray) -> np.ndarray:
    """Rows that are the signature of a text without shingles (all 0xFFFFFFFF)."""
    return np.all(np.asarray(signatures) == MAX_HASH, axis=-1)


def arange_within(counts: np.ndarray) -> np.ndarray:
    """[0..c0), [0..c1), ... concatenated: the offset of each element inside its group."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


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


class _Words:
    """The ``\\w+`` runs of a batch: where each starts, its length, and its document."""

    def __init__(self, texts: Sequence[str | None]) -> None:
        self.points = _code_points(texts)
        self.word = _is_word_char(self.points)
        edge = np.diff(np.concatenate([[False], self.word, [False]]).astype(np.int8))
        self.start = np.flatnonzero(edge == 1)
        self.length = np.flatnonzero(edge == -1) - self.start
        self.offset = np.cumsum(self.length) - self.length  # of each word among the word characters
        self.doc = np.searchsorted(np.flatnonzero(self.points == 0), self.start)  # separators before it
        self.per_doc = np.bincount(self.doc, minlength=len(texts))

    def hashes(self) -> np.ndarray:
        """A 64-bit hash of each word: the sum of code point * P^position, then mixed."""
        if not len(self.start):
            return np.zeros(0, np.uint64)
        powers = np.cumprod(np.full(int(self.length.max()), _WORD_POLY))  # wraps mod 2^64
        terms = self.points[self.word].astype(np.uint64) * powers[arange_within(self.length)]
        return mix64(np.add.reduceat(terms, self.offset))

    def characters(self) -> tuple[np.ndarray, np.ndarray]:
        """Word characters with one space between consecutive words of a document, and the
        number of characters of each document."""
        follows = np.flatnonzero(np.diff(self.doc) == 0) + 1  # words after a word of their document
        chars = np.insert(self.points[self.word], self.offset[follows], _SPACE)
        letters = np.bincount(self.doc, weights=self.length, minlength=len(self.per_doc)).astype(np.int64)
        return chars, letters + np.maximum(self.per_doc - 1, 0)


def _word_units(texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    words = _Words(texts)
    return words.hashes(), words.per_doc


def _char_units(texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """A hash of every character; punctuation and space between words count as one space.

    Dropping punctuation keeps char n-grams robust to punctuation edits and makes a
    punctuation-only text empty, as in the word unit.
    """
    chars, lengths = _Words(texts).characters()
    return mix64(chars.astype(np.uint64) ^ _CHAR_SALT), lengths


def _ngrams(units: np.ndarray, lengths: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash every n consecutive units of each document, never across a document boundary.

    A document with 1..n-1 units becomes one shingle of all its units; one with none has no
    shingle. Returns the shingle hashes (documents in order) and the shingle count of each.
    """
    counts = np.where(lengths >= n, lengths - n + 1, np.minimum(lengths, 1))
    starts = np.repeat(np.cumsum(lengths) - lengths, counts) + arange_within(counts)
    width = np.repeat(np.minimum(lengths, n), counts)
    padded = np.concatenate([units, np.zeros(n, np.uint64)])  # starts + k stays in range
    short = width < n
    acc = np.zeros(len(starts), np.uint64)
    for k in range(n):
        step = acc * _POLY + padded[starts + k]
        acc = np.where(short & (k >= width), acc, step) if short.any() else step
    return mix64(acc), counts


class MinHasher:
    """MinHash over word or character n-grams; permutations are multiply-shift hashes 64 -> 32 bit."""

    scheme = SCHEME

    def __init__(
        self, num_perm: int = 128, ngram: int = 3, unit: Literal["word", "char"] = "word", seed: int = 1
    ) -> None:
        if int(num_perm) < 1:
            raise ValueError(f"num_perm must be >= 1, got {num_perm}")
        if int(ngram) < 1:
            raise ValueError(f"ngram must be >= 1, got {ngram}")
        if unit not in ("word", "char"):
            raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
        if int(seed) < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.num_perm, self.ngram, self.unit, self.seed = int(num_perm), int(ngram), unit, int(seed)
        rng = np.random.default_rng(self.seed)
        # h_i(x) = ((a_i * x + b_i) mod 2^64) >> 32 with odd a_i: Dietzfelbinger's multiply-shift.
        self._a = rng.integers(0, 2**64, self.num_perm, dtype=np.uint64, endpoint=False) | np.uint64(1)
        self._b = rng.integers(0, 2**64, self.num_perm, dtype=np.uint64, endpoint=False)

    def _shingle_batch(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        units, lengths = (_word_units if self.unit == "word" else _char_units)(texts)
        return _ngrams(units, lengths, self.ngram)

    def shingle_hashes(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """The uint64 hashes of every n-gram of the batch (documents in order, repeats kept)
        and the count of each document's."""
        return self._shingle_batch(texts)

    def shingles(self, text: str | None) -> np.ndarray:
        """The distinct uint64 n-gram hashes of one text (sorted); stable across processes."""
        return np.unique(self._shingle_batch([text])[0])

    def signatures(self, texts: Sequence[str | None]) -> np.ndarray:
        """(len(texts), num_perm) uint32 MinHash signatures of the batch.

        The batch is cut into runs of consecutive texts of about 2M characters (a text is never
        split), so temporary memory stays bounded whatever the batch size; each run is
        vectorised as a whole.
        """
        out = np.full((len(texts), self.num_perm), MAX_HASH, dtype=np.uint32)
        sizes = np.fromiter((len(t) if t else 0 for t in texts), np.int64, len(texts))
        window = (np.cumsum(sizes) - sizes) // _BATCH_CHARS  # which window each text starts in
        cuts = np.append(np.flatnonzero(np.diff(window, prepend=-1)), len(texts))
        for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            out[lo:hi] = self._signatures(texts[lo:hi])
        return out

    def _signatures(self, texts: Sequence[str | None]) -> np.ndarray:
        """Signatures of one run of texts.

        All shingles of the run are concatenated; each chunk of them is hashed by every
        permutation at once and reduced per document with ``np.minimum.reduceat``. Chunks are
        sized so the (num_perm x chunk) uint64 block stays cache-sized (4 MB); a document split
        between two chunks is finished by an elementwise minimum.
        """
        hashes, counts = self._shingle_batch(texts)
        out = np.full((len(counts), self.num_perm), MAX_HASH, dtype=np.uint32)
        docs = np.flatnonzero(counts)
        doc_start = (np.cumsum(counts) - counts)[docs]
        chunk = max(1, _BLOCK_BYTES // (8 * self.num_perm))
        b = self._b[:, None]
        for lo in range(0, len(hashes), chunk):
            hi = min(lo + chunk, len(hashes))
            first = np.searchsorted(doc_start, lo, side="right") - 1  # document holding shingle lo
            last = np.searchsorted(doc_start, hi, side="left")
            seg_doc = docs[first:last]
            block = np.multiply.outer(self._a, hashes[lo:hi])
            block += b
            block >>= np.uint64(32)
            low = np.minimum.reduceat(block.astype(np.uint32), np.maximum(doc_start[first:last], lo) - lo, axis=1)
            out[seg_doc] = np.minimum(out[seg_doc], low.T)
        return out
