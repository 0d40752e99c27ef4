"""A user's classifier or reward model as a scorer, and the flagged-words ratio.

The models are real model folders built here from the offline MiniLM (a two-class classifier
and a one-output reward model, heads seeded); the scores are checked against transformers run
directly on the same inputs. The word lists are LDNOOBW as the `naughty-words` package ships them.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.score.helpers import PAIRS, run_until_score, score_config, write_instructions

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _model_folder(path, num_labels: int):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from pipeline.train.models import model_path

    torch.manual_seed(3)
    labels = {0: "bad", 1: "good"} if num_labels == 2 else {0: "reward"}
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path("minilm"), num_labels=num_labels, id2label=labels, label2id={v: k for k, v in labels.items()})
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(model_path("minilm")).save_pretrained(path)
    return path


def _direct(folder, pairs, column):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.inference_mode():
        logits = model(**tok([q for q, _ in pairs], [a for _, a in pairs], padding=True, return_tensors="pt")).logits
    return (logits[:, 0] if column is None else torch.softmax(logits, 1)[:, column]).tolist()


def test_classifier_probability_of_a_named_label(tmp_path):
    folder = _model_folder(tmp_path / "quality-clf", 2)
    data = write_instructions(tmp_path / "qa.jsonl", PAIRS[:8])
    spec = {"name": "clf", "kind": "classifier", "model": str(folder), "label": "good", "decide": {"min": 0.0}}
    out = run_until_score(score_config(tmp_path, data, [spec])).output("score_clf")
    kept = out.read_kept().to_pylist()
    assert len(kept) == 8
    expected = dict(zip([q for q, _ in PAIRS[:8]], _direct(folder, PAIRS[:8], 1)))
    for r in kept:
        assert r["score_clf_score"] == pytest.approx(expected[r["prompt"]], abs=1e-5)
    (prov,) = json.loads((out.path / "provenance.json").read_text()).values()
    assert prov["model"] == str(folder) and prov["label"] == "good" and prov["model_id"]


def test_reward_model_raw_output_and_top_k(tmp_path):
    folder = _model_folder(tmp_path / "reward", 1)
    data = write_instructions(tmp_path / "qa.jsonl", PAIRS[:8])
    spec = {"name": "rm", "kind": "classifier", "model": str(folder), "decide": {"top_k": 3}}
    out = run_until_score(score_config(tmp_path, data, [spec])).output("score_rm")
    expected = sorted(_direct(folder, PAIRS[:8], None), reverse=True)
    kept = sorted((r["score_rm_score"] for r in out.read_kept().to_pylist()), reverse=True)
    assert kept == pytest.approx(expected[:3], abs=1e-5)
    assert out.counts["rejected_by_reason"] == {"score_not_top": 5}


def test_unknown_label_is_named(tmp_path):
    from pipeline.score.classifier import ClassifierScorer
    from pipeline.score.config import ClassifierScorer as Spec

    folder = _model_folder(tmp_path / "clf", 2)
    with pytest.raises(ValueError, match=r"label 'great' is not one of the model's labels \['bad', 'good'\]"):
        ClassifierScorer(Spec(name="c", kind="classifier", model=str(folder), label="great")).setup()


def test_flagged_words_ratio_per_language(tmp_path):
    from pipeline.score.flagged import WordList, lists_folder

    folder = lists_folder()
    english = json.loads((folder / "en.json").read_text())
    word = next(w for w in english if w.isalpha() and len(w) > 4)
    phrase = next(w for w in english if len(w.split()) == 3 and all(p.isalpha() for p in w.split()))
    en = WordList("en", english)
    assert en.ratio(f"The cat sat on a {word} today") == pytest.approx(1 / 7)
    assert en.ratio(f"one {phrase} two") == pytest.approx(3 / 5)
    assert en.ratio("A perfectly ordinary sentence about gardening.") == 0.0
    german = json.loads((folder / "de.json").read_text())
    de_word = next(w for w in german if w.isalpha() and len(w) > 4 and w.lower() not in {e.lower() for e in english})

    rows = [("Tell me about gardens.", "Gardens are pleasant places to grow flowers and vegetables in spring."),
            ("Tell me a story.", f"Once upon a time there was a {word} who lived in a small town by the sea."),
            ("Erzähl mir etwas über das Wetter.",
             f"Das Wetter ist heute sehr schön und der {de_word} scheint über den Bergen und Feldern.")]
    data = write_instructions(tmp_path / "qa.jsonl", rows)
    spec = {"name": "flag", "kind": "flagged_words", "decide": {"max": 0.0}}
    cfg = score_config(tmp_path, data, [spec])
    cfg["clean"] = {"language": {"allowed": ["en", "de"]}}
    out = run_until_score(cfg).output("score_flag")
    kept, rejected = out.read_kept().to_pylist(), out.read_rejected().to_pylist()
    assert [r["prompt"] for r in kept] == [rows[0][0]] and kept[0]["score_flag_ratio"] == 0.0
    assert {json.loads(r["record"])["prompt"] for r in rejected} == {rows[1][0], rows[2][0]}
    assert all(r["reason"] == "score_above_max" for r in rejected)
