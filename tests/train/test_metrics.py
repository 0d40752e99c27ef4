"""Metrics on fixed examples: ROUGE-L, exact match, and classification against scikit-learn."""

from __future__ import annotations

import pytest

from pipeline.train.metrics import classification_report, exact_match, lcs_length, normalise_answer, rouge_l


def test_normalisation_ignores_case_punctuation_and_spacing():
    assert normalise_answer("  The  Answer: PARIS! ") == "the answer paris"
    assert exact_match("Paris.", "paris") == 1.0
    assert exact_match("Paris, France", "Paris") == 0.0


def test_lcs_and_rouge_l_on_a_worked_example():
    assert lcs_length("a b c d e".split(), "a c e f".split()) == 3
    # reference 6 words, prediction 4 words, LCS "the cat on mat" = 4: P = 1, R = 4/6
    assert rouge_l("the cat on mat", "the cat sat on the mat") == pytest.approx(2 * 1 * (4 / 6) / (1 + 4 / 6))
    assert rouge_l("Same words.", "same WORDS") == 1.0
    assert rouge_l("nothing shared", "totally different") == 0.0
    assert rouge_l("", "") == 1.0 and rouge_l("", "x") == 0.0


def test_classification_report_matches_scikit_learn():
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    labels = ["a", "b", "c", "d"]  # "d" occurs nowhere: left out of the macro average, as in sklearn
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2, 1]
    y_pred = [0, 1, 0, 1, 2, 2, 2, 0, 2, 1]
    report = classification_report(y_true, y_pred, labels)
    assert report["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2], zero_division=0)
    for i, label in enumerate(labels[:3]):
        assert report["per_class"][label] == pytest.approx({"precision": p[i], "recall": r[i], "f1": f[i], "n": n[i]})
    assert report["confusion"]["matrix"] == confusion_matrix(y_true, y_pred, labels=[0, 1, 2, 3]).tolist()
    assert report["confusion"]["labels"] == labels
