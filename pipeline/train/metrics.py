"""Metrics in plain Python, so that slices, the model and the TF-IDF baseline share one definition.

Classification follows scikit-learn's conventions (macro-F1 averages over the labels that occur
in the true or predicted labels; 0/0 counts as 0). Generation metrics compare normalised text.
"""

from __future__ import annotations

import re
import string
from typing import Any

_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")


def confusion_matrix(y_true: list[int], y_pred: list[int], n_labels: int) -> list[list[int]]:
    """Rows are true labels, columns predicted labels."""
    matrix = [[0] * n_labels for _ in range(n_labels)]
    for t, p in zip(y_true, y_pred):
        matrix[t][p] += 1
    return matrix


def per_class(matrix: list[list[int]], labels: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for i, label in enumerate(labels):
        tp = matrix[i][i]
        predicted = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"precision": precision, "recall": recall, "f1": f1, "n": support}
    return out


def classification_report(y_true: list[int], y_pred: list[int], labels: list[str]) -> dict[str, Any]:
    """accuracy, macro_f1, per_class and confusion for integer labels indexing `labels`."""
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    classes = per_class(matrix, labels)
    occurring = sorted(set(y_true) | set(y_pred))
    # An empty split has no accuracy (None, JSON null), rather than a misleading 0.
    macro = sum(classes[labels[i]]["f1"] for i in occurring) / len(occurring) if occurring else None
    accuracy = sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true) if y_true else None
    return {"accuracy": accuracy, "macro_f1": macro, "per_class": classes,
            "confusion": {"labels": list(labels), "matrix": matrix}}


def normalise_answer(text: str) -> str:
    """Lower case, punctuation removed, whitespace runs collapsed: 'Paris.' == ' paris'."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalise_answer(prediction) == normalise_answer(reference))


def lcs_length(a: list[str], b: list[str]) -> int:
    """Longest common subsequence by dynamic programming, one row at a time."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 over normalised word tokens (Lin, 2004, with beta = 1)."""
    pred, ref = normalise_answer(prediction).split(), normalise_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


GENERATION_METRICS = {"exact_match": exact_match, "rouge_l": rouge_l}


def mean(values: list[float]) -> float | None:
    """The average, or None for no values (an empty slice has no score)."""
    return sum(values) / len(values) if values else None
