"""Choosing records for annotators: each strategy on hand-built inputs, then predictions from real models."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pipeline.annotate.predict import (  # noqa: E402
    PREDICTION_SCHEMA, classifier_predictions, lm_confidences, model_version, predictions,
)
from pipeline.annotate.select import COUNT_KEYS, SelectConfig, StrategyConfig, select_records  # noqa: E402
from pipeline.augment.stage import CANDIDATE_SCHEMA  # noqa: E402
from pipeline.records import empty_record, records_to_table  # noqa: E402
from tests.train.helpers import QA, classification_table, instruction_table, record  # noqa: E402


def records(ids: list[str], labels: list[str] | None = None) -> pa.Table:
    labels = labels or ["ham"] * len(ids)
    return records_to_table([empty_record(id=i, kind="classification", source="t", text=f"text {i}", label=y,
                                          group_id=i) for i, y in zip(ids, labels)])


def preds(rows: list[tuple[str, dict[str, float]]], labels: dict[str, str] | None = None) -> pa.Table:
    """Prediction rows as classifier_predictions writes them, from (id, probabilities)."""
    out = []
    for rid, p in rows:
        best = max(sorted(p), key=p.__getitem__)
        given = (labels or {}).get(rid)
        out.append({"id": rid, "predicted": best, "confidence": p[best], "given_prob": p.get(given),
                    "probs": json.dumps(p, sort_keys=True)})
    return pa.Table.from_pylist(out, schema=PREDICTION_SCHEMA)


def config(*strategies: dict, **kw) -> SelectConfig:
    return SelectConfig(strategies=[StrategyConfig(**s) for s in strategies], **kw)


def assert_counts_add_up(selected: pa.Table, counts: dict) -> None:
    for name, c in counts.items():
        if name != "total_selected":
            assert c["eligible"] == sum(c[k] for k in COUNT_KEYS if k != "eligible"), (name, c)
    assert counts["total_selected"] == selected.num_rows == sum(
        c["selected"] for n, c in counts.items() if n != "total_selected")


SPAM = {f"r{i}": {"spam": p, "ham": round(1 - p, 2)} for i, p in enumerate([0.52, 0.9, 0.6, 0.98, 0.55, 0.7])}


def spam_preds() -> pa.Table:
    return preds([(i, p) for i, p in SPAM.items()])


# -- least confident ---------------------------------------------------------------------------

def test_least_confident_takes_the_lowest_confidence_within_budget():
    table = records(list(SPAM))
    selected, counts = select_records(table, config({"name": "least_confident", "budget": 3, "max_confidence": 0.95}),
                                      predictions=spam_preds())
    # confidences: r0 .52, r4 .55, r2 .6, r5 .7, r1 .9 (r3 .98 is above max_confidence)
    assert selected.column("id").to_pylist() == ["r0", "r4", "r2"]
    assert selected.column("reason").to_pylist()[0] == "least confident: p(spam)=0.52"
    assert selected.column("score").to_pylist() == sorted(selected.column("score").to_pylist(), reverse=True)
    assert selected.column("context_id").null_count == 3
    assert counts["least_confident"] == {"eligible": 5, "selected": 3, "already_selected": 0,
                                         "skipped_already_pushed": 0, "skipped_over_budget": 2,
                                         "skipped_over_max_tasks": 0}
    assert_counts_add_up(selected, counts)


def test_already_pushed_records_are_skipped_without_using_budget():
    table = records(list(SPAM))
    selected, counts = select_records(table, config({"name": "least_confident", "budget": 3}),
                                      predictions=spam_preds(), exclude={"r0", "r2"})
    assert selected.column("id").to_pylist() == ["r4", "r5", "r1"]
    assert counts["least_confident"]["skipped_already_pushed"] == 2
    assert_counts_add_up(selected, counts)


def test_only_records_in_the_table_are_selectable():
    table = records(["r1", "r2"])  # the predictions also cover r0, r3, r4, r5
    selected, counts = select_records(table, config({"name": "least_confident", "budget": 10}),
                                      predictions=spam_preds())
    assert selected.column("id").to_pylist() == ["r2", "r1"] and counts["least_confident"]["eligible"] == 2


def test_lm_confidences_read_as_answer_likelihood():
    table = records(["a", "b"])
    lm = pa.Table.from_pylist([{"id": "a", "confidence": 0.02}, {"id": "b", "confidence": None}],
                              schema=PREDICTION_SCHEMA)
    selected, counts = select_records(table, config({"name": "least_confident", "budget": 5}), predictions=lm)
    assert selected.to_pylist()[0]["reason"] == "least confident: answer likelihood 0.02"
    assert counts["least_confident"]["eligible"] == 1  # b was never scored (e.g. its prompt was too long)


# -- confident learning --------------------------------------------------------------------------

def test_confident_learning_finds_the_mislabeled_records():
    """10 records per class; the model knows pos and neg well and is timid about rare.

    Three records carry a wrong label. Plain argmax would also flag every rare record (pos gets
    0.45 there), but rare's own threshold (its mean probability on the records labelled rare, ~0.38) keeps them.
    """
    rows, labels = [], {}
    for i in range(10):
        rows.append((f"pos{i}", {"pos": 0.9 - 0.01 * i, "neg": 0.05 + 0.01 * i, "rare": 0.05}))
        rows.append((f"neg{i}", {"pos": 0.05, "neg": 0.9 - 0.01 * i, "rare": 0.05 + 0.01 * i}))
        rows.append((f"rare{i}", {"pos": 0.45, "neg": 0.15 - 0.02 * (i % 2), "rare": 0.40 + 0.02 * (i % 2)}))
    for rid, _ in rows:
        labels[rid] = rid.rstrip("0123456789")
    wrong = {"pos0": "neg", "neg3": "pos", "pos5": "rare"}  # true class pos, neg, pos
    labels.update(wrong)
    table = records(list(labels), list(labels.values()))
    selected, counts = select_records(table, config({"name": "label_errors", "budget": 10}),
                                      predictions=preds(rows, labels))
    assert selected.column("id").to_pylist() == ["pos0", "neg3", "pos5"]  # by p_k - p_y: 0.85, 0.82, 0.80
    assert selected.column("reason").to_pylist()[0] == "likely label error: given 'neg' p=0.05, model says 'pos' p=0.90"
    assert counts["label_errors"]["eligible"] == 3


def test_label_errors_skip_labels_the_model_does_not_know():
    table = records(["a", "b", "c"], ["x", "y", "other"])
    rows = [("a", {"x": 0.9, "y": 0.1}), ("b", {"x": 0.2, "y": 0.8}), ("c", {"x": 0.95, "y": 0.05})]
    selected, _ = select_records(table, config({"name": "label_errors", "budget": 5}), predictions=preds(rows))
    assert selected.num_rows == 0


# -- near duplicates and augmentation --------------------------------------------------------------

PAIRS = pa.table({"id_a": ["a", "c", "e", "a", "g"], "id_b": ["b", "d", "f", "x", "h"],
                  "similarity": [0.78, 0.83, 0.99, 0.79, 0.62],
                  "decision": ["borderline", "duplicate", "duplicate", "borderline", "borderline"]})


def test_near_duplicates_take_both_members_of_borderline_pairs():
    table = records(list("abcdefgh"))  # x was dropped as a duplicate
    selected, counts = select_records(table, config({"name": "near_duplicates", "budget": 4}), pairs=PAIRS)
    rows = selected.to_pylist()
    # a is in two borderline pairs: its closest (0.79, with x) ranks it; x itself is not in the table
    assert [r["id"] for r in rows] == ["a", "b", "g", "h"]
    assert [r["context_id"] for r in rows] == ["x", "a", "h", "g"]
    assert rows[1]["reason"] == "near-duplicate of a (similarity 0.78, borderline)"
    assert counts["near_duplicates"]["eligible"] == 4


def test_near_duplicates_around_a_given_threshold():
    table = records(list("abcdefgh"))
    selected, _ = select_records(table, config({"name": "near_duplicates", "budget": 10, "threshold": 0.8,
                                                "margin": 0.05}), pairs=PAIRS)
    rows = selected.to_pylist()
    # 0.79 and 0.78 are borderline; duplicate 0.83 is 0.03 above the threshold; 0.99 is a clear duplicate
    assert [r["id"] for r in rows][:2] == ["a", "b"] and {r["id"] for r in rows} == set("abcdgh")
    assert {r["id"]: r["reason"] for r in rows}["c"] == "near-duplicate of d (similarity 0.83, threshold 0.80)"


def candidates() -> pa.Table:
    def cand(rid, parent, decision="kept", **scores):
        return {"id": rid, "parent_id": parent, "kind": "classification", "augmenter": "synonym",
                "method": "synonym", "decision": decision, **scores}

    return pa.Table.from_pylist([
        cand("c1", "p1", similarity=0.71, length_ratio=1.0),
        cand("c2", "p2", similarity=0.83, length_ratio=1.0),  # comfortably inside both gates
        cand("c3", "p3", similarity=0.9, length_ratio=1.96),
        cand("c4", "p4", "gate:similarity_low", similarity=0.69, length_ratio=1.0),  # rejected: not in the data
        cand("c5", "p5", similarity=0.705, length_ratio=1.0),  # kept, then dropped downstream
        cand("c6", "p6", similarity=0.985, length_ratio=None),
    ], schema=CANDIDATE_SCHEMA)


def test_augment_borderline_takes_kept_candidates_near_a_gate_bound():
    table = records(["c1", "c2", "c3", "c4", "c6", "p1"])
    selected, counts = select_records(table, config({"name": "augment_borderline", "budget": 10, "margin": 0.05}),
                                      candidates=candidates())
    rows = selected.to_pylist()
    assert [r["id"] for r in rows] == ["c6", "c1", "c3"]  # 0.005, 0.01 and 0.04 from a bound
    assert rows[1]["reason"] == "augmented by synonym: similarity 0.71 near the 0.70 bound"
    assert rows[1]["context_id"] == "p1"
    assert rows[2]["reason"] == "augmented by synonym: length_ratio 1.96 near the 2.00 bound"
    narrow, _ = select_records(table, config({"name": "augment_borderline", "budget": 10, "margin": 0.05}),
                               candidates=candidates(), gates={"similarity": (0.8, None)})
    assert narrow.column("id").to_pylist() == ["c2"]


# -- random, combinations, errors --------------------------------------------------------------------

def test_random_audit_is_seeded_and_stable_as_the_table_grows():
    ids = [f"r{i:03d}" for i in range(200)]
    small, _ = select_records(records(ids[:100]), config({"name": "random", "budget": 10}, seed=3))
    again, _ = select_records(records(ids[:100]), config({"name": "random", "budget": 10}, seed=3))
    other, _ = select_records(records(ids[:100]), config({"name": "random", "budget": 10}, seed=4))
    grown, _ = select_records(records(ids), config({"name": "random", "budget": 200}, seed=3))
    assert small.equals(again) and small.column("id").to_pylist() != other.column("id").to_pylist()
    in_order = [i for i in grown.column("id").to_pylist() if i in set(ids[:100])]
    assert in_order[:10] == small.column("id").to_pylist()
    assert set(small.column("reason").to_pylist()) == {"random audit"}


def test_strategies_in_order_with_reasons_merged_and_a_total_cap():
    # label, p(spam): b and g are labelled ham but the model is sure they are spam
    plan = {"a": ("ham", 0.55), "b": ("ham", 0.95), "c": ("spam", 0.9), "d": ("spam", 0.8), "e": ("ham", 0.1),
            "g": ("ham", 0.88)}
    table = records(list(plan), [y for y, _ in plan.values()])
    p = preds([(i, {"spam": s, "ham": round(1 - s, 2)}) for i, (_, s) in plan.items()],
              {i: y for i, (y, _) in plan.items()})
    cfg = config({"name": "least_confident", "budget": 3},
                 {"name": "label_errors", "budget": 1},
                 {"name": "random", "budget": 5}, max_tasks=5, seed=1)
    selected, counts = select_records(table, cfg, predictions=p)
    rows = selected.to_pylist()
    # least confident: a .55, d .8, g .88; label errors (t_spam .85, t_ham .38): b first, then g again
    assert [r["id"] for r in rows][:4] == ["a", "d", "g", "b"] and rows[4]["id"] in {"c", "e"}
    assert [r["strategy"] for r in rows] == ["least_confident"] * 3 + ["label_errors", "random"]
    assert rows[2]["strategies"] == "least_confident,label_errors"
    assert rows[2]["reason"] == ("least confident: p(spam)=0.88; "
                                 "likely label error: given 'ham' p=0.12, model says 'spam' p=0.88")
    assert rows[2]["score"] == pytest.approx(0.12)  # the first strategy's score
    assert counts["label_errors"] == {"eligible": 2, "selected": 1, "already_selected": 1,
                                      "skipped_already_pushed": 0, "skipped_over_budget": 0,
                                      "skipped_over_max_tasks": 0}
    assert counts["random"]["eligible"] == 2 and counts["random"]["skipped_over_max_tasks"] == 1
    assert_counts_add_up(selected, counts)
    again, _ = select_records(table, cfg, predictions=p)
    assert again.equals(selected)


@pytest.mark.parametrize("name, missing", [("least_confident", "predictions"), ("label_errors", "predictions"),
                                           ("near_duplicates", "pairs"), ("augment_borderline", "candidates")])
def test_a_strategy_without_its_input_says_which(name, missing):
    with pytest.raises(ValueError, match=f"needs `{missing}`"):
        select_records(records(["a"]), config({"name": name, "budget": 1}))


def test_config_refuses_parameters_a_strategy_does_not_read_and_repeats():
    with pytest.raises(ValueError, match="does not use"):
        StrategyConfig(name="least_confident", budget=1, margin=0.2)
    with pytest.raises(ValueError, match="unique"):
        config({"name": "random", "budget": 1}, {"name": "random", "budget": 2})
    with pytest.raises(ValueError):
        StrategyConfig(name="random", budget=-1)


# -- real models ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
    """MiniLM fine-tuned for two epochs on one-keyword reviews (~10 s on 2 cores)."""
    from tests.train.helpers import train_tiny_classifier

    out, result = train_tiny_classifier(tmp_path_factory.mktemp("select-cls") / "model", 60, epochs=2,
                                        learning_rate=1e-3, data_version="0123456789abcdef-data")
    assert result.metrics["accuracy"] > 0.8
    return out


def test_classifier_predictions_are_probabilities_of_the_real_model(classifier_dir):
    table = classification_table(30, seed=7)
    p = classifier_predictions(classifier_dir, table, max_length=32)
    assert p.schema == PREDICTION_SCHEMA and p.column("id").to_pylist() == table.column("id").to_pylist()
    for row, label in zip(p.to_pylist(), table.column("label").to_pylist()):
        probs = json.loads(row["probs"])
        assert set(probs) == {"pos", "neg", "neutral"} and sum(probs.values()) == pytest.approx(1, abs=2e-4)
        assert row["predicted"] == max(probs, key=probs.get)
        assert row["confidence"] == pytest.approx(probs[row["predicted"]], abs=1e-4)
        assert row["given_prob"] == pytest.approx(probs[label], abs=1e-4)
    assert classifier_predictions(classifier_dir, table, max_length=32).equals(p)
    assert predictions(classifier_dir, table, max_length=32).equals(p)
    assert model_version(classifier_dir) == "model@0123456789ab"


def test_flipped_labels_rank_first_among_label_errors(classifier_dir):
    table = classification_table(30, seed=7)
    clean = classifier_predictions(classifier_dir, table, max_length=32).to_pylist()
    # per class, the record the model is surest of gets another label
    flip = {}
    for label, other in (("pos", "neg"), ("neg", "neutral"), ("neutral", "pos")):
        mine = [r for r, y in zip(clean, table.column("label").to_pylist()) if y == label == r["predicted"]]
        flip[max(mine, key=lambda r: (r["confidence"], r["id"]))["id"]] = other
    flipped = records_to_table([{**r, "label": flip.get(r["id"], r["label"])} for r in table.to_pylist()])
    p = classifier_predictions(classifier_dir, flipped, max_length=32)
    selected, counts = select_records(flipped, config({"name": "label_errors", "budget": 5}), predictions=p)
    assert set(selected.column("id").to_pylist()[:3]) == set(flip), (selected.to_pylist(), counts)


def test_mixed_record_families_are_refused(tmp_path):
    mixed = pa.concat_tables([classification_table(2, seed=0), instruction_table(QA[:2])])
    with pytest.raises(ValueError, match="either classification or instruction"):
        predictions(tmp_path, mixed)


@pytest.fixture(scope="module")
def sft_dir(tiny_llama_dir, tmp_path_factory):
    """The tiny random Llama after ten SFT epochs on eight question/answer pairs (~3 s)."""
    from pipeline.train import TrainConfig, train_and_evaluate

    out = tmp_path_factory.mktemp("select-sft") / "sft"
    train_and_evaluate(instruction_table(QA[:8]), instruction_table(QA[8:]), instruction_table(QA[8:]),
                       TrainConfig(model=str(tiny_llama_dir), epochs=10, batch_size=4, max_length=96,
                                   max_new_tokens=2, learning_rate=1e-2), out, data_version="sft-data-v1")
    return out


def test_lm_confidences_are_answer_likelihoods(sft_dir, tiny_llama_dir):
    seen = instruction_table(QA[:8])
    noise = instruction_table([(q, "Gravel quantum umbrella sideways marmalade.") for q, _ in QA[:8]], "noise")
    a, b = lm_confidences(sft_dir, seen), lm_confidences(sft_dir, noise)
    assert a.schema == PREDICTION_SCHEMA and a.column("id").to_pylist() == seen.column("id").to_pylist()
    assert a.column("predicted").null_count == a.column("probs").null_count == a.column("given_prob").null_count == 8
    conf_a, conf_b = a.column("confidence").to_pylist(), b.column("confidence").to_pylist()
    assert all(0 < c <= 1 for c in conf_a + conf_b)
    # ten epochs on these answers make them ~50x likelier than noise (measured: ~0.007 vs ~0.0001)
    assert min(conf_a) > 10 * max(conf_b)
    base = lm_confidences(tiny_llama_dir, seen).column("confidence").to_pylist()
    assert all(x > y for x, y in zip(conf_a, base))
    assert lm_confidences(sft_dir, seen).equals(a) and predictions(sft_dir, seen).equals(a)
    assert model_version(sft_dir) == "sft@sft-data-v1"


def test_lm_confidences_from_a_lora_adapter_and_unscorable_records(tiny_llama_dir, tmp_path):
    from pipeline.train import TrainConfig, train_and_evaluate

    out = tmp_path / "lora"
    train_and_evaluate(instruction_table(QA[:4]), instruction_table(QA[4:6]), instruction_table(QA[4:6]),
                       TrainConfig(model=str(tiny_llama_dir), method="lora", epochs=2, batch_size=2, max_length=96,
                                   max_new_tokens=2, learning_rate=1e-2), out, data_version="v")
    assert (out / "adapter_config.json").is_file() and not (out / "config.json").exists()
    long = record("instruction", prompt="Repeat: " + "x " * 200, response="No.")
    table = records_to_table([*instruction_table(QA[:2]).to_pylist(), long])
    conf = lm_confidences(out, table, max_length=96).column("confidence").to_pylist()
    assert all(0 < c <= 1 for c in conf[:2]) and conf[2] is None  # the prompt alone fills max_length
    base = lm_confidences(tiny_llama_dir, table, max_length=96).column("confidence").to_pylist()
    assert conf[:2] != base[:2]  # the adapter is applied, not just the base model
