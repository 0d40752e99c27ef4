"""Task payloads: what leaves the pipeline is redacted, complete for the label config, and plain text."""

from __future__ import annotations

import pytest

from pipeline.annotate.label_configs import annotation_result, parse_annotation
from pipeline.annotate.push import PushConfig, TaskBuilder, pre_annotation
from pipeline.records import empty_record


def test_tasks_are_redacted_and_carry_every_field_the_config_shows():
    builder = TaskBuilder(PushConfig())
    rec = empty_record(id="r1", kind="instruction", source="s", prompt="Mail jane.doe@example.com or call +1 415 555 0100",
                       response="<b>Bold</b> & plain", system=None)
    task = builder.task(rec, {"strategy": "random", "reason": "random audit"}, "other: x@example.org", None)
    data = task["data"]
    assert "jane.doe@example.com" not in data["prompt"] and "<EMAIL>" in data["prompt"]
    assert "415 555 0100" not in data["prompt"]
    assert "x@example.org" not in data["context"]
    assert data["response"] == "<b>Bold</b> & plain"  # shown by <Text> as text, not parsed as HTML
    assert data["system"] == "" and data["record_id"] == "r1" and data["kind"] == "instruction"
    assert "predictions" not in task and builder.redactions == 3


def test_code_keeps_its_digits_but_not_its_secrets():
    builder = TaskBuilder(PushConfig())
    code = 'API_KEY = "AKIAIOSFODNN7EXAMPLE"\nport = 8080\nhost = "10.0.0.1"\n'
    data = builder.task(empty_record(id="c", kind="code", source="s", prompt="p", code=code, language="python"),
                        {}, "", None)["data"]
    assert "AKIAIOSFODNN7EXAMPLE" not in data["code"] and "8080" in data["code"] and "10.0.0.1" in data["code"]


def test_pre_annotations_name_the_model_and_score_and_fit_the_project_config():
    from pipeline.annotate.label_configs import label_config

    xml = label_config("classification", ["ham", "spam"])
    pred = pre_annotation("classification", {"predicted": "spam", "confidence": 0.91234}, "spam-model@abc", xml)
    assert pred["model_version"] == "spam-model@abc" and pred["score"] == 0.9123
    assert parse_annotation("classification", pred["result"]) == {"label": "spam"}
    assert pred["result"] == annotation_result("classification", label="spam")  # the SDK builds the same items
    lm = pre_annotation("instruction", {"predicted": None, "confidence": 0.4}, "chat@def", label_config("instruction"))
    assert lm["result"] == [] and lm["score"] == 0.4
    assert pre_annotation("classification", None, "m", xml) is None
    assert pre_annotation("classification", {"predicted": "a", "confidence": 0.5}, None, xml) is None
    # A label the project does not offer is refused by the SDK's label interface, not sent.
    with pytest.raises(ValueError, match="not defined in labeling config"):
        pre_annotation("classification", {"predicted": "phishing", "confidence": 0.7}, "m", xml)
