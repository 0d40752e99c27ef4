"""A classifier head on frozen sentence embeddings: a model that converges in seconds.

Fine-tuning a whole encoder on 2 CPU cores is stopped after an epoch or two, well before it
converges, and an undertrained model hides what the data did to it: it has not yet learned the
labels, wrong ones included. A one-hidden-layer network over MiniLM sentence embeddings (the
project's encoder, frozen) trains to convergence in seconds, and like a fine-tuned network it
can fit wrong labels; its seed sets its initial weights and the order of its mini-batches, so
seeds give real run-to-run variation. Metrics come through the same code as the fine-tuned
classifier's.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyarrow as pa

from pipeline.train.baseline import evaluate_fitted
from pipeline.train.classify import label_set

Encode = Callable[[list[str]], np.ndarray]  # texts -> one L2-normalised row per text


def cached_encoder(encode: Encode) -> Encode:
    """`encode` that remembers every text it has seen: the arms of an experiment share most texts."""
    seen: dict[str, np.ndarray] = {}

    def run(texts: list[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in seen))
        if new:
            seen.update(zip(new, encode(new)))
        return np.stack([seen[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)

    return run


def minilm_encoder() -> Encode:
    from pipeline.dedup.embed import Embedder

    return Embedder().encode


def embedding_head(train: pa.Table, validation: pa.Table, test: pa.Table, encode: Encode, *, seed: int = 0,
                   hidden: int = 256, max_iter: int = 200) -> dict[str, Any]:
    """{metrics, per_class, confusion, slices, items} on test, as `tfidf_baseline` returns them."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    import warnings

    labels = label_set(train, validation, test)
    index = {label: i for i, label in enumerate(labels)}
    y_train = [index[y] for y in train.column("label").to_pylist()]
    model = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings():
        # Stopping at max_iter is the setting, not a fault: the loss has flattened by then.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(encode(train.column("text").to_pylist()), y_train)
    out = evaluate_fitted(validation, test, labels, [int(c) for c in model.classes_],
                          lambda texts: model.predict_proba(encode(texts)))
    out["metrics"]["train_iterations"] = int(model.n_iter_)
    return out
