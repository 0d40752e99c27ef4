"""Which records to show a reviewer as likely label errors, from out-of-fold probabilities.

Confident learning (`pipeline.annotate.select.label_errors`) needs each record's class
probabilities from a model that did not train on that record: a model scores its own training
records with the labels it memorised, flips included. Here every record is scored by a logistic
regression over sentence embeddings (or TF-IDF) fitted on the other folds (folds by group, so a
passage's neighbours from the same document are never in its training fold).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.annotate.select import label_errors


def _features(texts: list[str], features: str) -> Any:
    """The whole table's features: sentence embeddings (the project's default encoder, MiniLM)
    or TF-IDF of word uni- and bigrams (fitted on all texts: unsupervised, labels unseen)."""
    if features == "embeddings":
        from pipeline.dedup.embed import Embedder

        return Embedder().encode(texts)
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)


def out_of_fold_predictions(table: pa.Table, folds: int = 5, seed: int = 0, features: str = "embeddings") -> pa.Table:
    """The columns label_errors reads (id, probs) for every record of `table`: each record's
    class probabilities from a logistic regression fitted on the other folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    texts, labels = table.column("text").to_pylist(), table.column("label").to_pylist()
    groups = table.column("group_id").to_pylist()
    classes = sorted(set(labels))
    y = np.array([classes.index(v) for v in labels])
    x = _features(texts, features)
    probs = np.zeros((len(texts), len(classes)))
    for train_rows, held_rows in GroupKFold(n_splits=min(folds, len(set(groups)))).split(texts, y, groups):
        model = LogisticRegression(max_iter=2000, random_state=seed).fit(x[train_rows], y[train_rows])
        probs[np.ix_(held_rows, model.classes_)] = model.predict_proba(x[held_rows])
    return pa.table({"id": table.column("id"),
                     "probs": [json.dumps({c: round(float(v), 4) for c, v in zip(classes, row)}) for row in probs]})


def review_selection(table: pa.Table, share: float, folds: int = 5, features: str = "embeddings") -> list[dict[str, Any]]:
    """The records confident learning flags, best first, at most `share` of the table."""
    picks = label_errors(table, out_of_fold_predictions(table, folds, features=features))
    return [{"id": p.id, "score": p.score, "reason": p.reason} for p in picks[: round(share * table.num_rows)]]
