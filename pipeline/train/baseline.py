"""A TF-IDF + logistic-regression baseline: what a fine-tuned encoder has to beat.

It fits in seconds, needs no GPU and no pretrained weights, and reports the same metrics as
the fine-tuned classifier (through the same code), so the two sit side by side in a report.
"""

from __future__ import annotations

from typing import Any, Callable

import pyarrow as pa

from pipeline.train.classify import evaluate_predictions, label_set
from pipeline.train.metrics import classification_report, mean


def tfidf_baseline(train: pa.Table, validation: pa.Table, test: pa.Table, *, seed: int = 0) -> dict[str, Any]:
    """{metrics, per_class, confusion, slices, items} on test (items: per test record, as the fine-tuned
    classifier stores them); metrics also hold val_loss and val_macro_f1."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    for name, table in (("train", train), ("validation", validation), ("test", test)):
        kinds = set(table.column("kind").to_pylist())
        if kinds - {"classification"}:
            raise ValueError(f"tfidf_baseline needs classification records; {name} has {sorted(kinds)}")
    labels = label_set(train, validation, test)
    index = {label: i for i, label in enumerate(labels)}
    # Word uni- and bigrams with sublinear tf: the usual strong linear text baseline.
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    x_train = vectorizer.fit_transform(train.column("text").to_pylist())
    y_train = [index[y] for y in train.column("label").to_pylist()]
    model = LogisticRegression(max_iter=1000, random_state=seed).fit(x_train, y_train)

    return evaluate_fitted(validation, test, labels, [int(c) for c in model.classes_],
                           lambda texts: model.predict_proba(vectorizer.transform(texts)))


def evaluate_fitted(validation: pa.Table, test: pa.Table, labels: list[str], classes: list[int],
                    proba: Callable[[list[str]], Any]) -> dict[str, Any]:
    """A fitted model's results in the fine-tuned classifier's form: test metrics, per-item rows
    (`items`), and the validation loss and macro-F1. `proba` maps texts to one row of class
    probabilities each, its columns the label indexes in `classes` (a label absent from train
    has none, so probability 0)."""
    import math

    index = {label: i for i, label in enumerate(labels)}

    def predict(table: pa.Table) -> tuple[list[int], list[int], list[float]]:
        y_true = [index[y] for y in table.column("label").to_pylist()]
        if not y_true:
            return [], [], []
        rows = proba(table.column("text").to_pylist())
        y_pred = [classes[int(row.argmax())] for row in rows]
        losses = [-math.log(max(float(row[classes.index(t)]) if t in classes else 0.0, 1e-15))
                  for row, t in zip(rows, y_true)]
        return y_true, y_pred, losses

    val_true, val_pred, val_losses = predict(validation)
    test_true, test_pred, test_losses = predict(test)
    out = evaluate_predictions(test, labels, test_true, test_pred, test_losses)
    out["items"] = {"id": test.column("id").to_pylist(), "true": [labels[i] for i in test_true],
                    "pred": [labels[i] for i in test_pred], "loss": test_losses}
    out["metrics"]["val_loss"] = mean(val_losses)
    out["metrics"]["val_macro_f1"] = classification_report(val_true, val_pred, labels)["macro_f1"]
    return out
