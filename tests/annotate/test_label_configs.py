"""Label Studio configs per kind and their annotations: XML contract, escaping, exact round-trips."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from pipeline.annotate.label_configs import (
    CONTROLS,
    LABEL_CONFIG_DIR,
    annotation_result,
    config_labels,
    label_config,
    parse_annotation,
    verdict,
)

KINDS = ("classification", "instruction", "code")
TEXT_NAMES = {
    "classification": {"text", "context"},
    "instruction": {"system", "prompt", "response", "context"},
    "code": {"prompt", "code", "context"},
}
NASTY = 'a"b <c>&'


def config(kind: str) -> str:
    return label_config(kind, ["spam", "ham"] if kind == "classification" else None)


def test_the_files_exist_and_classification_has_the_placeholder():
    assert sorted(p.name for p in LABEL_CONFIG_DIR.glob("*.xml")) == sorted(f"{k}.xml" for k in KINDS)
    raw = (LABEL_CONFIG_DIR / "classification.xml").read_text()
    assert "<!-- LABELS -->" in raw
    ET.fromstring(raw)


@pytest.mark.parametrize("kind", KINDS)
def test_config_has_the_exact_controls_and_only_text_objects(kind):
    root = ET.fromstring(config(kind))
    assert root.tag == "View"
    assert {t.get("name") for t in root.iter("Text")} == TEXT_NAMES[kind]
    assert not list(root.iter("HyperText"))
    controls = {t.get("name"): (t.get("toName"), t.tag.lower())
                for t in root.iter() if t.tag in ("Choices", "Rating", "TextArea")}
    assert controls == CONTROLS[kind]
    # every $variable shown comes from the task data keys the pipeline always sends
    values = " ".join(t.get("value", "") for t in root.iter() if t.tag in ("Text", "Header"))
    assert "$reason" in values


def test_instruction_and_code_control_details():
    ins = ET.fromstring(config("instruction"))
    assert ins.find("Rating").attrib == {"name": "rating", "toName": "response", "maxRating": "5"}
    problems = ins.find("Choices")
    assert problems.get("choice") == "multiple"
    assert [c.get("value") for c in problems] == ["wrong", "unsafe", "unhelpful"]
    area = ins.find("TextArea")
    assert (area.get("editable"), area.get("maxSubmissions"), area.get("rows")) == ("true", "1", "6")
    code = ET.fromstring(config("code"))
    correct = code.find("Choices")
    assert (correct.get("choice"), correct.get("required")) == ("single", "true")
    assert [c.get("value") for c in correct] == ["correct", "incorrect"]


def test_classification_labels_are_deduplicated_sorted_and_escaped():
    xml = label_config("classification", ["spam", NASTY, "ham", "spam"])
    assert config_labels(xml) == sorted({"spam", NASTY, "ham"})
    assert "&lt;c&gt;&amp;" in xml and "<c>" not in xml
    choices = ET.fromstring(xml).find("Choices")
    assert (choices.get("name"), choices.get("toName"), choices.get("choice"), choices.get("required")) == \
        ("label", "text", "single", "true")


@pytest.mark.parametrize("labels", [None, [], ["ok", ""], ["ok", "  "], "spam", ["ok", 3]])
def test_bad_classification_labels_are_refused(labels):
    with pytest.raises(ValueError):
        label_config("classification", labels)


def test_labels_for_other_kinds_and_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="only for classification"):
        label_config("instruction", ["a"])
    with pytest.raises(ValueError, match="classification"):
        label_config("image", None)
    with pytest.raises(ValueError):
        parse_annotation("image", [])


def test_config_labels_refuses_a_config_without_label_choices():
    with pytest.raises(ValueError):
        config_labels(config("code"))


def test_parse_the_documented_items_and_ignore_unknown_controls():
    result = [
        {"from_name": "rating", "to_name": "response", "type": "rating", "value": {"rating": 4}},
        {"from_name": "rewrite", "to_name": "response", "type": "textarea",
         "value": {"text": ["  line1", "line2  "]}},
        {"from_name": "problems", "to_name": "response", "type": "choices",
         "value": {"choices": ["wrong", "unhelpful"]}},
        {"from_name": "comment", "to_name": "response", "type": "textarea", "value": {"text": ["x"]}},
    ]
    assert parse_annotation("instruction", result) == \
        {"rating": 4, "problems": ["unhelpful", "wrong"], "rewrite": "line1\nline2"}
    label = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["spam"]}}]
    assert parse_annotation("classification", label) == {"label": "spam"}
    blank = [{"from_name": "rewrite", "to_name": "code", "type": "textarea", "value": {"text": [" ", ""]}}]
    assert parse_annotation("code", blank) == {"correct": None, "rewrite": None}
    assert parse_annotation("code", []) == {"correct": None, "rewrite": None}


def test_annotation_result_items_are_exactly_label_studios_shape():
    assert annotation_result("classification", label="spam") == [
        {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["spam"]}}]
    assert annotation_result("code", correct=False, rewrite="x = 1\n") == [
        {"from_name": "correct", "to_name": "code", "type": "choices", "value": {"choices": ["incorrect"]}},
        {"from_name": "rewrite", "to_name": "code", "type": "textarea", "value": {"text": ["x = 1"]}}]
    assert annotation_result("instruction", rating=None, problems=[], rewrite="  ") == []


@pytest.mark.parametrize("kind, given, parsed", [
    ("classification", {"label": NASTY}, {"label": NASTY}),
    ("classification", {}, {"label": None}),
    ("instruction", {"rating": 5}, {"rating": 5, "problems": [], "rewrite": None}),
    ("instruction", {"rating": 2, "problems": ["wrong", "unsafe", "wrong"], "rewrite": " a\nb "},
     {"rating": 2, "problems": ["unsafe", "wrong"], "rewrite": "a\nb"}),
    ("code", {"correct": True}, {"correct": True, "rewrite": None}),
    ("code", {"correct": False, "rewrite": "def f():\n    return 1"},
     {"correct": False, "rewrite": "def f():\n    return 1"}),
    ("code", {"rewrite": "print(2)"}, {"correct": None, "rewrite": "print(2)"}),
])
def test_round_trip(kind, given, parsed):
    result = annotation_result(kind, **given)
    assert parse_annotation(kind, result) == parsed
    # what crosses the wire is JSON; the round trip must survive it
    assert parse_annotation(kind, json.loads(json.dumps(result))) == parsed


@pytest.mark.parametrize("kind, bad", [
    ("classification", {"rating": 3}),
    ("classification", {"label": ""}),
    ("instruction", {"rating": 6}),
    ("instruction", {"rating": True}),
    ("instruction", {"problems": ["boring"]}),
    ("instruction", {"problems": "wrong"}),
    ("code", {"correct": "yes"}),
])
def test_annotation_result_refuses_bad_values(kind, bad):
    with pytest.raises(ValueError):
        annotation_result(kind, **bad)


@pytest.mark.parametrize("kind, parsed, expected", [
    ("classification", {"label": "spam"}, "spam"),
    ("classification", {"label": None}, None),
    ("instruction", {"rating": 3, "problems": [], "rewrite": None}, "ok"),
    ("instruction", {"rating": None, "problems": ["wrong", "unsafe"], "rewrite": None}, "problems:unsafe,wrong"),
    ("instruction", {"rating": 1, "problems": ["wrong"], "rewrite": "better"}, "rewrite"),
    ("instruction", {"rating": None, "problems": [], "rewrite": None}, None),
    ("code", {"correct": True, "rewrite": None}, "correct"),
    ("code", {"correct": False, "rewrite": None}, "incorrect"),
    ("code", {"correct": None, "rewrite": "x"}, "rewrite"),
    ("code", {"correct": None, "rewrite": None}, None),
])
def test_verdict(kind, parsed, expected):
    assert verdict(kind, parsed) == expected


@pytest.mark.parametrize("kind, values", [
    ("classification", {"label": NASTY}),
    ("instruction", {"rating": 4, "problems": ["unsafe"], "rewrite": "new"}),
    ("code", {"correct": True, "rewrite": "pass"}),
])
def test_label_studios_own_parser_accepts_configs_and_results(kind, values):
    interface = pytest.importorskip("label_studio_sdk.label_interface")
    xml = label_config(kind, ["spam", NASTY] if kind == "classification" else None)
    li = interface.LabelInterface(xml)
    li.validate()  # raises on a bad toName, duplicate name or unknown attribute
    assert li.validate_prediction({"result": annotation_result(kind, **values)}, return_errors=True) == []
    if kind == "classification":  # and it does catch a wrong value, so the check above means something
        assert li.validate_prediction({"result": annotation_result(kind, label="nope")}, return_errors=True)


def test_import_stays_cheap():
    code = ("import sys, pipeline.annotate.label_configs; "
            "print(sorted(m for m in ('pydantic', 'label_studio_sdk', 'numpy', 'prefect', 'pyarrow') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
