"""Label Studio labelling configs per record kind, and the annotations they produce.

The configs live as XML files in `schemas/labelstudio/` so that they can be read, diffed and
previewed in Label Studio's editor as they are; only the classification labels are filled in
here, because they come from the data. The control names in those files (`label`, `rating`,
`problems`, `rewrite`, `correct`) are the contract with everything that reads annotations back:
`CONTROLS` names them once, and `parse_annotation` / `annotation_result` are exact inverses, so
what we write as a prediction reads back as what an annotator would have submitted.

Importing this module stays cheap (stdlib only): flows import it just to build a config.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from pipeline.paths import SCHEMAS_DIR

LABEL_CONFIG_DIR = SCHEMAS_DIR / "labelstudio"
LABELS_PLACEHOLDER = "<!-- LABELS -->"

# kind -> control name (from_name) -> (to_name, result type), as written in the XML files.
CONTROLS: dict[str, dict[str, tuple[str, str]]] = {
    "classification": {"label": ("text", "choices")},
    "instruction": {
        "rating": ("response", "rating"),
        "problems": ("response", "choices"),
        "rewrite": ("response", "textarea"),
    },
    "code": {"correct": ("code", "choices"), "rewrite": ("code", "textarea")},
}
PROBLEMS: tuple[str, ...] = ("wrong", "unsafe", "unhelpful")
MAX_RATING = 5


def _check_kind(kind: str) -> None:
    if kind not in CONTROLS:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {sorted(CONTROLS)}")


def _clean_labels(labels: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too; iterating it would make one label per character.
    if isinstance(labels, str) or not labels:
        raise ValueError("classification needs a non-empty sequence of labels")
    bad = [lab for lab in labels if not isinstance(lab, str) or not lab.strip()]
    if bad:
        raise ValueError(f"labels must be non-empty strings, got {bad!r}")
    return sorted(set(labels))


def label_config(kind: str, labels: Sequence[str] | None = None) -> str:
    """The labelling config (XML text) for a kind; classification needs its label set."""
    _check_kind(kind)
    xml = (LABEL_CONFIG_DIR / f"{kind}.xml").read_text(encoding="utf-8")
    if kind == "classification":
        if labels is None:
            raise ValueError("classification needs labels to build its Choices")
        choices = "\n    ".join(f"<Choice value={quoteattr(lab)}/>" for lab in _clean_labels(labels))
        xml = xml.replace(LABELS_PLACEHOLDER, choices)
    elif labels is not None:
        raise ValueError(f"labels are only for classification, not {kind!r}")
    ET.fromstring(xml)  # fail here, not in Label Studio, if a file or a label broke the XML
    return xml


def config_labels(xml: str) -> list[str]:
    """The Choice values of the `label` Choices of a classification config, in config order."""
    for choices in ET.fromstring(xml).iter("Choices"):
        if choices.get("name") == "label":
            return [c.get("value", "") for c in choices.iter("Choice")]
    raise ValueError("config has no <Choices name=\"label\">: not a classification config")


def _text(value: dict[str, Any]) -> str | None:
    # Label Studio keeps one string per submission in a list; older exports have a plain string.
    text = value.get("text")
    joined = "\n".join(text) if isinstance(text, list) else (text or "")
    return joined.strip() or None


def parse_annotation(kind: str, result: list[dict]) -> dict:
    """One annotation's result items as plain values: the keys are the kind's control names."""
    _check_kind(kind)
    out: dict[str, Any] = {
        "classification": {"label": None},
        "instruction": {"rating": None, "problems": [], "rewrite": None},
        "code": {"correct": None, "rewrite": None},
    }[kind]
    for item in result:
        name, value = item.get("from_name"), item.get("value") or {}
        if name not in CONTROLS[kind]:
            continue  # a control added in the UI later, or someone else's: not ours to read
        if name == "rewrite":
            out["rewrite"] = _text(value)
        elif name == "rating":
            out["rating"] = int(value["rating"]) if value.get("rating") is not None else None
        elif name == "problems":
            out["problems"] = sorted(set(value.get("choices") or []))
        else:
            picked = (value.get("choices") or [None])[0]
            out[name] = (picked == "correct") if name == "correct" and picked is not None else picked
    return out


def _value(name: str, v: Any) -> dict[str, Any] | None:
    """The `value` of one result item, or None when `v` means "nothing given"."""
    if name == "rewrite":
        text = (v or "").strip()
        return {"text": [text]} if text else None
    if name == "rating":
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_RATING:
            raise ValueError(f"rating must be an int in 1..{MAX_RATING}, got {v!r}")
        return {"rating": v}
    if name == "problems":
        if isinstance(v, str) or not isinstance(v, (list, tuple, set)) or set(v) - set(PROBLEMS):
            raise ValueError(f"problems must be a list drawn from {PROBLEMS}, got {v!r}")
        return {"choices": sorted(set(v))} if v else None
    if name == "correct":
        if not isinstance(v, bool):
            raise ValueError(f"correct must be a bool, got {v!r}")
        return {"choices": ["correct" if v else "incorrect"]}
    if not isinstance(v, str) or not v:
        raise ValueError(f"label must be a non-empty string, got {v!r}")
    return {"choices": [v]}


def annotation_result(kind: str, **values: Any) -> list[dict]:
    """Result items for an annotation or prediction: the inverse of `parse_annotation`."""
    _check_kind(kind)
    unknown = set(values) - set(CONTROLS[kind])
    if unknown:
        raise ValueError(f"{kind} has no controls {sorted(unknown)}; it has {sorted(CONTROLS[kind])}")
    items = []
    for name, (to_name, type_) in CONTROLS[kind].items():
        if values.get(name) is None:
            continue
        value = _value(name, values[name])
        if value is not None:
            items.append({"from_name": name, "to_name": to_name, "type": type_, "value": value})
    return items


def verdict(kind: str, parsed: dict) -> str | None:
    """One categorical value per annotation, the unit of agreement; None for an empty one.

    A rewrite outranks everything else: whoever wrote one said "not good as it is", and the
    texts themselves almost never match word for word, so they cannot be compared as values.
    """
    _check_kind(kind)
    if kind == "classification":
        return parsed.get("label")
    if parsed.get("rewrite"):
        return "rewrite"
    if kind == "code":
        correct = parsed.get("correct")
        return None if correct is None else ("correct" if correct else "incorrect")
    if parsed.get("problems"):
        return "problems:" + ",".join(sorted(parsed["problems"]))
    return "ok" if parsed.get("rating") is not None else None


def interface_result(xml: str, kind: str, **values: Any) -> list[dict]:
    """Result items built and validated by the SDK's label interface for the project's own config
    (what annotators see): a value the config does not offer, such as a label missing from its
    choices, is a ValueError naming what the SDK found wrong."""
    import json

    from label_studio_sdk.label_interface import LabelInterface

    _check_kind(kind)
    interface = LabelInterface(xml)
    given = {k: ("correct" if v else "incorrect") if k == "correct" else v for k, v in values.items()
             if v is not None and v != [] and v != ""}
    try:
        regions = interface.create_regions(given)
    except Exception as exc:  # the SDK raises plain errors for unknown controls and values
        raise ValueError(f"{kind}: the label interface refused {sorted(given)}: {exc}") from exc
    # Region ids are random: left out, so the same record pushes the same task every time.
    result = [{k: v for k, v in json.loads(r.to_json()).items() if k != "id"} for r in regions]
    errors = interface.validate_prediction({"result": result}, return_errors=True)
    if errors:
        raise ValueError(f"{kind}: the label interface refused the result: {errors}")
    return result
