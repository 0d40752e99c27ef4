"""Language identification with py3langid's bundled model, loaded once per process.

py3langid ships its model inside the package, so nothing is downloaded. We use normalised
probabilities (a calibrated softmax), so `min_confidence` reads as a probability.

The package classifies one text at a time: a byte-by-byte Python loop through a DFA that
emits n-gram features, then a naive-Bayes product over a 100k x 142 float16 table. Over a
batch that costs ~50-90 us per short text, the largest share of cleaning. `BatchIdentifier`
computes the same scores for a whole batch at once (~12 us per short text): it walks all
texts through the DFA in lock-step with NumPy, counts features with one sort, and does the
product as batched matmuls over a float32 copy of the table. It reads the model's arrays
from py3langid's `LanguageIdentifier`, and a test checks it against
`LanguageIdentifier.classify` (same language, same probability to 1e-4).
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np  # already loaded with pyarrow; py3langid itself is imported on first use

UNDETERMINED = "und"
# The language of a long text shows in its first few thousand characters, and the cost grows
# with every byte, so only this many leading characters are judged.
SAMPLE_CHARS = 2000
# When this few texts are still being walked, NumPy's per-call cost exceeds the work; the
# remaining (long) texts finish in a plain loop.
_VECTOR_MIN_ACTIVE = 8
# Texts per batched matmul in the naive-Bayes product (measured best at 32-64), and a cap on
# the feature rows one group gathers (x 142 classes x 4 bytes).
_PRODUCT_TEXTS = 64
_PRODUCT_ROWS = 8192

_identifier: Any = None  # one per process: the model takes ~0.5 s and ~90 MB to load


def load_identifier() -> "BatchIdentifier":
    """The process-wide identifier, loaded on first use."""
    global _identifier
    if _identifier is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _identifier = BatchIdentifier(LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True))
    return _identifier


def encode(text: str) -> bytes:
    """The bytes py3langid scores: all-caps text lower-cased, NFC, UTF-8."""
    if text.isupper():
        text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.encode("utf8", errors="surrogatepass")


class BatchIdentifier:
    """py3langid's naive-Bayes classifier (norm_probs=True), evaluated over many texts at once."""

    def __init__(self, ident: Any):
        self.classes: list[str] = list(ident.nb_classes)
        self.n_features = int(ident.nb_ptc.shape[0])
        # float16 is how the model is stored; NumPy multiplies it without BLAS, far slower.
        self.ptc = np.ascontiguousarray(ident.nb_ptc, dtype=np.float32)
        self.pc = np.asarray(ident.nb_pc, dtype=np.float32)
        self.nextmove = np.asarray(ident.tk_nextmove)
        self.rowbase = np.asarray(ident.tk_row, dtype=np.int64) << 8
        self.output = np.asarray(ident.tk_output, dtype=np.int64)
        # The same as plain lists, for the per-byte loop (list indexing beats NumPy scalars).
        self._nextmove_list = ident.tk_nextmove
        self._rowbase_list = self.rowbase.tolist()
        self._output_list = list(ident.tk_output)
        # Labels listed twice (script variants, srl -> sr): the first column gets both masses.
        first: dict[str, int] = {}
        self.alias_pairs: list[tuple[int, int]] = []
        for i, c in enumerate(self.classes):
            if c in first:
                self.alias_pairs.append((first[c], i))
            else:
                first[c] = i

    def classify_many(self, texts: list[str]) -> list[tuple[str, float]]:
        """(language, probability) for each text, as LanguageIdentifier.classify would give."""
        if not texts:
            return []
        data = [encode(t) for t in texts]
        lengths = np.fromiter((len(b) for b in data), dtype=np.int64, count=len(data))
        # Longest first: the texts still being walked are then always a prefix, and texts of
        # similar length (similar feature counts) sit together for the padded product.
        order = np.argsort(-lengths, kind="stable")
        text_pos, features = self._walk([data[i] for i in order.tolist()], lengths[order])
        scores = np.empty((len(data), len(self.classes)), dtype=np.float32)
        scores[order] = self._naive_bayes(len(data), text_pos, features)
        probs = self._softmax(scores, lengths)
        best = probs.argmax(axis=1)
        conf = probs[np.arange(len(data)), best]
        return [(self.classes[b], float(c)) for b, c in zip(best.tolist(), conf.tolist())]

    def _walk(self, data: list[bytes], lengths: Any) -> tuple[Any, Any]:
        """(text position, feature id) for every feature the DFA emits; `data` longest first."""
        buf = np.frombuffer(b"".join(data), dtype=np.uint8)
        starts = np.zeros(len(data), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        state = np.zeros(len(data), dtype=np.int64)
        # n_active[pos] = how many texts are longer than pos.
        n_active = np.searchsorted(-lengths, -np.arange(int(lengths[0])), side="left")
        pos_parts, feat_parts = [], []
        pos = 0
        nextmove, rowbase, output = self.nextmove, self.rowbase, self.output
        while pos < len(n_active) and n_active[pos] >= _VECTOR_MIN_ACTIVE:
            n = int(n_active[pos])
            s = nextmove[rowbase[state[:n]] + buf[starts[:n] + pos]]
            state[:n] = s
            f = output[s]
            hit = np.flatnonzero(f >= 0)
            pos_parts.append(hit)
            feat_parts.append(f[hit])
            pos += 1
        # The few longest texts: continue each from its current state in a plain loop.
        for k in range(int(n_active[pos]) if pos < len(n_active) else 0):
            feats = self._walk_one(data[k][pos:], int(state[k]))
            pos_parts.append(np.full(len(feats), k, dtype=np.int64))
            feat_parts.append(np.asarray(feats, dtype=np.int64))
        if not pos_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(pos_parts), np.concatenate(feat_parts)

    def _walk_one(self, data: bytes, state: int) -> list[int]:
        nm, rowbase, out = self._nextmove_list, self._rowbase_list, self._output_list
        feats = []
        for byte in data:
            state = nm[rowbase[state] + byte]
            f = out[state]
            if f >= 0:
                feats.append(f)
        return feats

    def _naive_bayes(self, n_texts: int, text_pos: Any, features: Any) -> Any:
        """Per-text log-likelihoods: sum of log1p(count) x feature row, plus the class prior.

        Texts (longest first) go in groups; each group's features are padded to a
        (texts, features) matrix (padding: weight 0) so that one batched matmul does the
        group. Much faster than per-text products or reduceat over a gathered table.
        """
        scores = np.zeros((n_texts, len(self.classes)), dtype=np.float32)
        if not len(features):
            return scores
        keys, counts = np.unique(text_pos * self.n_features + features, return_counts=True)
        tid, fid = np.divmod(keys, self.n_features)  # sorted by text, then feature
        weights = np.log1p(counts.astype(np.float32))
        n_feat = np.bincount(tid, minlength=n_texts)
        first = np.zeros(n_texts + 1, dtype=np.int64)
        np.cumsum(n_feat, out=first[1:])
        col = np.arange(len(keys)) - first[tid]  # the feature's slot within its text's row
        start = 0
        while start < n_texts:
            # Fewer texts per group when they are long, so a group gathers ~_PRODUCT_ROWS rows.
            size = max(1, min(_PRODUCT_TEXTS, _PRODUCT_ROWS // max(1, int(n_feat[start]))))
            end = min(start + size, n_texts)
            width = int(n_feat[start:end].max())
            if width:
                lo, hi = first[start], first[end]
                rows, cols = tid[lo:hi] - start, col[lo:hi]
                idx = np.zeros((end - start, width), dtype=np.int64)
                w = np.zeros((end - start, width), dtype=np.float32)
                idx[rows, cols] = fid[lo:hi]
                w[rows, cols] = weights[lo:hi]
                scores[start:end] = np.matmul(w[:, None, :], self.ptc[idx])[:, 0, :]
            start = end
        # py3langid adds the prior only for texts that produced features; a featureless text
        # keeps all-zero scores, i.e. a uniform distribution.
        scores[n_feat > 0] += self.pc
        return scores

    def _softmax(self, scores: Any, lengths: Any) -> Any:
        # Temperature sqrt(bytes), as py3langid does, keeps probabilities calibrated by length.
        scores *= (1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32)[:, None]
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        for i, j in self.alias_pairs:
            scores[:, i] += scores[:, j]
            scores[:, j] = 0.0
        return scores


class LanguageScorer:
    """(language, confidence) per text, or ("und", None) when a text is too short to judge."""

    def __init__(self, min_chars: int, sample_chars: int = SAMPLE_CHARS):
        self.min_chars = min_chars
        self.sample_chars = sample_chars
        self._ident: BatchIdentifier | None = None

    def setup(self) -> None:
        self._ident = load_identifier()

    def classify_many(self, texts: list[str | None]) -> list[tuple[str, float | None]]:
        results: list[tuple[str, float | None]] = [(UNDETERMINED, None)] * len(texts)
        judged = [i for i, t in enumerate(texts) if t and len(t) >= self.min_chars]
        if not judged:
            return results
        if self._ident is None:
            self.setup()
        assert self._ident is not None
        found = self._ident.classify_many([texts[i][: self.sample_chars] for i in judged])  # type: ignore[index]
        for i, r in zip(judged, found):
            results[i] = r
        return results

    def classify(self, text: str | None) -> tuple[str, float | None]:
        return self.classify_many([text])[0]

    def __getstate__(self) -> dict[str, Any]:
        # Sent to worker processes before setup(): never pickle the model itself.
        return {**self.__dict__, "_ident": None}
