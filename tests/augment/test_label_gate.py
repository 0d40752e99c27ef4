"""The label gate with a real fine-tuned classifier: a candidate whose meaning flipped is caught."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pipeline.augment.candidates import Candidate  # noqa: E402
from pipeline.augment.checks import LabelPredictor, score_labels  # noqa: E402
from pipeline.augment.config import AugmenterConfig, LabelGate  # noqa: E402
from tests.train.helpers import WORDS, classification_table  # noqa: E402


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
    from tests.train.helpers import train_tiny_classifier

    out, result = train_tiny_classifier(tmp_path_factory.mktemp("label-gate") / "model", 90, epochs=3,
                                        learning_rate=2e-4)
    assert result.metrics["accuracy"] > 0.6
    return out


def _flip(text: str, label: str) -> str | None:
    other = {"pos": "neg", "neg": "pos"}.get(label)
    for w in WORDS.get(label, []):
        if other and w in text:
            return text.replace(w, WORDS[other][0])
    return None


def test_label_gate_keeps_label_preserving_edits_and_catches_flips(classifier_dir):
    parents = [r for r in classification_table(60, seed=5).to_pylist() if r["label"] in ("pos", "neg")]
    spec = AugmenterConfig(method="remove_comments")  # only names the candidates; the gate reads text
    keep, flip = [], []
    for p in parents:
        flipped = _flip(p["text"], p["label"])
        if flipped is None:
            continue
        keep.append(Candidate(p, spec, 0, 0, ["text"], record={**p, "text": p["text"] + " Indeed."}))
        flip.append(Candidate(p, spec, 0, 0, ["text"], record={**p, "text": flipped}))
    assert len(flip) >= 10
    predictor = LabelPredictor(LabelGate(enabled=True, model=str(classifier_dir)))
    score_labels(keep + flip, predictor)
    kept_rate = sum(c.scores["label_preserved"] for c in keep) / len(keep)
    flip_rate = sum(c.scores["label_preserved"] for c in flip) / len(flip)
    assert kept_rate >= 0.7 and flip_rate <= kept_rate - 0.4, (kept_rate, flip_rate)
    assert all(0 <= c.scores["label_prob"] <= 1 for c in keep + flip)


def test_label_gate_needs_a_model_folder(tmp_path):
    with pytest.raises(ValueError, match="needs `model`"):
        LabelGate(enabled=True)
    with pytest.raises(FileNotFoundError, match="no trained classifier"):
        LabelPredictor(LabelGate(enabled=True, model=str(tmp_path))).setup()


def test_label_gate_in_the_stage_records_predictions(classifier_dir, tmp_path):
    from tests.augment.helpers import run_augment

    rows = classification_table(30, seed=7).to_pylist()
    out, cands, _ = run_augment(tmp_path, rows, augmenters=[{"method": "random_swap"}],
                                gates={"label": {"enabled": True, "model": str(classifier_dir)},
                                       "similarity": {"enabled": False}})
    produced = [c for c in cands if c["id"] is not None]
    assert produced and all(c["label_predicted"] is not None and c["label_prob"] is not None for c in produced)
    for c in produced:
        if c["decision"] == "kept":
            assert c["label_preserved"]
        if not c["label_preserved"]:
            assert c["decision"] in ("gate:label_changed", "gate:length_ratio_low", "gate:length_ratio_high")
    assert out.manifest["counts"]["in"] == len(rows)
