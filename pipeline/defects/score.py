"""How well each stage caught the defects planted for it: recall per defect kind, precision per stage.

Every record carries its item key and planted kind in `meta` (see `plant`). A stage flags an
item when it rejects it; the clean stage's PII redaction flags an item whose kept text holds
both placeholders. A planted copy (duplicate, paraphrase, contamination, boilerplate) counts as
caught when its stage rejected the copy or the item it was copied from (dedup keeps one of a
pair; which one is its keep rule's choice).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

# defect kind -> (stage, reason predicate): the stage meant to catch it
_DEDUP_SAME = lambda reason: not reason.startswith("reference_")  # noqa: E731
_REFERENCE = lambda reason: reason.startswith("reference_")  # noqa: E731
_ANY = lambda reason: True  # noqa: E731
DETECTORS: dict[str, list[tuple[str, Any]]] = {
    "exact_duplicate": [("dedup_exact", _DEDUP_SAME)],
    "near_duplicate": [("dedup_exact", _DEDUP_SAME), ("dedup_near", _DEDUP_SAME)],
    "paraphrase": [("dedup_exact", _DEDUP_SAME), ("dedup_near", _DEDUP_SAME), ("dedup_semantic", _DEDUP_SAME)],
    "contamination": [("dedup_exact", _REFERENCE), ("dedup_near", _REFERENCE), ("dedup_semantic", _REFERENCE),
                      ("decontam_ngram", _ANY)],
    "other_language": [("clean", lambda reason: "lang" in reason)],
    "truncated": [("clean", _ANY)],
    "garbled": [("clean", _ANY)],
    "boilerplate": [("clean", _ANY), ("dedup_exact", _DEDUP_SAME), ("dedup_near", _DEDUP_SAME)],
}
_PII_MARKS = ("<EMAIL>", "<PHONE>")


@dataclass
class Flag:
    stage: str
    reason: str


@dataclass
class Detection:
    kind: str
    planted: int
    caught: int
    missed_examples: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.caught / self.planted if self.planted else None


@dataclass
class StagePrecision:
    stage: str
    flagged: int
    explained: int  # flagged records that are planted defects, or the originals of planted copies
    unplanted_reasons: Counter = field(default_factory=Counter)

    @property
    def precision(self) -> float | None:
        return self.explained / self.flagged if self.flagged else None


def _meta(value: str | None) -> dict[str, Any]:
    return json.loads(value) if value else {}


def item_of(record_meta: str | None) -> tuple[str | None, str | None]:
    meta = _meta(record_meta)
    return meta.get("item"), meta.get("planted")


def stage_flags(name: str, rejected: pa.Table) -> dict[str, Flag]:
    """item -> the flag of each record the stage rejected (its record JSON carries the meta)."""
    out = {}
    for record, reason in zip(rejected.column("record").to_pylist(), rejected.column("reason").to_pylist()):
        try:
            rec = json.loads(record) if record else {}
        except json.JSONDecodeError:
            continue  # a raw preview (unreadable input): no item to name
        meta = rec.get("meta")
        item = (_meta(meta) if isinstance(meta, str) else (meta or {})).get("item")
        if item:
            out[item] = Flag(name, reason)
    return out


def redacted_items(kept: pa.Table) -> set[str]:
    """Items whose kept text holds every PII placeholder (the planted e-mail and phone were redacted)."""
    return {item_of(m)[0] for m, text in zip(kept.column("meta").to_pylist(), kept.column("text").to_pylist())
            if text and all(mark in text for mark in _PII_MARKS)}


def detections(truth: list[dict[str, Any]], flags: dict[str, dict[str, Flag]], redacted: set[str]) -> list[Detection]:
    """Recall per planted kind (label flips are scored by the review selection, not here)."""
    out = []
    for kind in [k for k in dict.fromkeys(t["kind"] for t in truth) if k != "label_flip"]:
        rows = [t for t in truth if t["kind"] == kind]
        caught, missed = 0, []
        for t in rows:
            if kind == "pii":
                hit = t["item"] in redacted
            else:
                hit = any(f.reason is not None and test(f.reason)
                          for stage, test in DETECTORS[kind]
                          for f in (flags.get(stage, {}).get(t["item"]), flags.get(stage, {}).get(t["of"])) if f)
            caught += hit
            if not hit and len(missed) < 3:
                missed.append(t["item"])
        out.append(Detection(kind, len(rows), caught, missed))
    return out


def precisions(truth: list[dict[str, Any]], flags: dict[str, dict[str, Flag]], redacted: set[str]) -> list[StagePrecision]:
    """Per stage: the share of its flags that a planted defect explains."""
    planted = {t["item"] for t in truth if t["kind"] != "label_flip"}
    originals = {t["of"] for t in truth if t["kind"] not in ("label_flip", "pii")}
    out = []
    for stage, by_item in flags.items():
        explained = [i for i in by_item if i in planted or i in originals]
        unexplained = Counter(f.reason for i, f in by_item.items() if i not in planted and i not in originals)
        out.append(StagePrecision(stage, len(by_item), len(explained), unexplained))
    pii = {t["item"] for t in truth if t["kind"] == "pii"}
    out.append(StagePrecision("clean (PII redaction)", len(redacted), len(redacted & pii)))
    return out


def score_catches(stage: str, inputs: pa.Table, rejected: pa.Table) -> dict[str, dict[str, Any]]:
    """What a score stage rejected, per planted kind of the records it saw ("clean": none planted):
    how many of each kind came in, how many it rejected, and the share."""
    seen = Counter(item_of(m)[1] or "clean" for m in inputs.column("meta").to_pylist())
    hit: Counter[str] = Counter()
    for record in rejected.column("record").to_pylist():
        meta = json.loads(record).get("meta") if record else None
        hit[item_of(meta if isinstance(meta, str) else json.dumps(meta))[1] or "clean"] += 1
    return {kind: {"in": n, "rejected": hit.get(kind, 0), "share": hit.get(kind, 0) / n}
            for kind, n in sorted(seen.items())}
