"""Plant known defects into clean labelled data, each with an item key that says what it is.

Clean items are dicts with `item` (a stable key), `text`, `label` and `group`. `plant` returns
the corrupted train items and one truth row per planted defect. Defects changed in place keep
their item's key (label flips, PII); every other defect is a new item whose key names its kind,
with `of` naming the clean item it was made from. Every item carries `planted` (the kind, or
"clean"), which the pipeline keeps in the record's `meta`, so a stage's decisions map back.

Kinds, and the stage meant to catch each:
  label_flip       the label replaced by another one (any other,    label-error selection for review
                   or "pair": always the class next in sorted order,
                   as annotators confuse two neighbouring classes)
  exact_duplicate  a verbatim copy of a train item               dedup (exact)
  near_duplicate   a copy with 2-5% of its words edited          dedup (near)
  paraphrase       a copy back-translated through Spanish        dedup (semantic)
  contamination    a test item copied into train (half edited)   decontamination against the test set
  other_language   a train item translated into Spanish          clean (language)
  pii              an e-mail address and a phone number inserted clean (PII redaction)
  truncated        the first 2-5 words of a train item           clean (quality: length)
  garbled          symbol soup of a train item's length          clean (quality: alphabetic share)
  boilerplate      a newsletter footer, nearly the same each time dedup (exact and near)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from pipeline.config_base import Strict

KINDS = ("label_flip", "exact_duplicate", "near_duplicate", "paraphrase", "contamination", "other_language",
         "pii", "truncated", "garbled", "boilerplate")
IN_PLACE = ("label_flip", "pii")
_FOOTER = ("You are receiving this because you subscribed to our newsletter. To unsubscribe, click here or "
           "reply with STOP. Copyright {year} {firm}. All rights reserved. Terms of service apply.")
_FIRMS = ("Acme Media", "Northwind Press", "Globex News", "Initech Publishing", "Umbrella Letters")
_SYMBOLS = "#$%&*@~^|<>{}[]=+_/\\0123456789"


class DefectRates(Strict):
    """How many of each defect: a share of the clean train items (contamination: of the test items)."""

    label_flip: float = Field(default=0.2, ge=0, le=1)
    exact_duplicate: float = Field(default=0.05, ge=0, le=1)
    near_duplicate: float = Field(default=0.05, ge=0, le=1)
    paraphrase: float = Field(default=0.03, ge=0, le=1)
    contamination: float = Field(default=0.1, ge=0, le=1, description="share of the test items copied into train")
    other_language: float = Field(default=0.03, ge=0, le=1)
    pii: float = Field(default=0.03, ge=0, le=1)
    truncated: float = Field(default=0.03, ge=0, le=1)
    garbled: float = Field(default=0.03, ge=0, le=1)
    boilerplate: float = Field(default=0.02, ge=0, le=1)


FlipMode = Literal["uniform", "pair"]
Translate = Callable[[list[str], str], list[str]]  # texts, Apertium pair ("eng-spa") -> translations


def edited(text: str, rng: random.Random, share: float) -> str:
    """The text with about `share` of its words deleted, swapped with a neighbour or repeated."""
    words = text.split()
    for _ in range(max(1, round(len(words) * share))):
        if len(words) < 4:
            break
        at, op = rng.randrange(len(words) - 1), rng.choice("dsr")
        if op == "d":
            del words[at]
        elif op == "s":
            words[at], words[at + 1] = words[at + 1], words[at]
        else:
            words.insert(at, words[at])
    return " ".join(words)


def with_pii(text: str, rng: random.Random, n: int) -> str:
    words = text.split()
    email = f"{rng.choice(['j.smith', 'maria.g', 'tom_b', 'lee42'])}{n}@{rng.choice(['example.com', 'mail.org'])}"
    phone = f"(555) {rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}"
    at = rng.randrange(len(words) + 1)
    return " ".join(words[:at] + [f"Contact {email} or call {phone}."] + words[at:])


def garbled(text: str, rng: random.Random) -> str:
    return "".join(rng.choice(_SYMBOLS) if c != " " else c for c in text[: max(40, len(text) // 2)])


def _pick(pool: list[dict], share: float, of: int, rng: random.Random, taken: set[str] | None = None) -> list[dict]:
    """round(share * of) items drawn from `pool` (those not in `taken`)."""
    pool = [it for it in pool if taken is None or it["item"] not in taken]
    return rng.sample(pool, min(len(pool), round(share * of)))


def flipped_label(label: str, labels: list[str], mode: FlipMode, rng: random.Random) -> str:
    """A wrong label: any other one ("uniform"), or the next in sorted order ("pair": the
    class-conditional noise of two classes confused with each other, which hurts a model far more
    than the same share spread evenly, and which confident learning is built to find)."""
    if mode == "pair":
        return labels[(labels.index(label) + 1) % len(labels)]
    return rng.choice([y for y in labels if y != label])


def plant(train: list[dict[str, Any]], test: list[dict[str, Any]], rates: DefectRates, seed: int,
          translate: Translate, flip: FlipMode = "uniform") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(corrupted train items, truth rows {item, kind, of, detail}); `train` is not modified."""
    rng = random.Random(seed)
    labels = sorted({it["label"] for it in train})
    out = [{**it, "planted": "clean"} for it in train]
    truth: list[dict[str, Any]] = []
    changed: set[str] = set()  # in-place defects do not stack on one item

    for it in _pick(out, rates.label_flip, len(train), rng):
        wrong = flipped_label(it["label"], labels, flip, rng)
        truth.append({"item": it["item"], "kind": "label_flip", "of": it["item"], "detail": f"{it['label']}->{wrong}"})
        it["label"], it["planted"] = wrong, "label_flip"
        changed.add(it["item"])
    for n, it in enumerate(_pick(out, rates.pii, len(train), rng, changed)):
        it["text"], it["planted"] = with_pii(it["text"], rng, n), "pii"
        truth.append({"item": it["item"], "kind": "pii", "of": it["item"], "detail": ""})
        changed.add(it["item"])

    clean = [it for it in out if it["planted"] == "clean"]  # new defects copy unchanged items
    new: list[dict[str, Any]] = []

    def add(kind: str, source: dict, text: str, label: str | None = None, detail: str = "") -> None:
        key = f"{kind}:{len(new)}"
        new.append({"item": key, "text": text, "label": label or source["label"], "group": key, "planted": kind})
        truth.append({"item": key, "kind": kind, "of": source["item"], "detail": detail})

    for it in _pick(clean, rates.exact_duplicate, len(train), rng):
        add("exact_duplicate", it, it["text"])
    for it in _pick(clean, rates.near_duplicate, len(train), rng):
        add("near_duplicate", it, edited(it["text"], rng, rng.uniform(0.02, 0.05)))
    para = _pick(clean, rates.paraphrase, len(train), rng)
    spanish_of = _pick(clean, rates.other_language, len(train), rng)
    spanish = translate([it["text"] for it in para + spanish_of], "eng-spa")
    back = translate(spanish[: len(para)], "spa-eng")
    for it, text in zip(para, back):
        add("paraphrase", it, text)
    for it, text in zip(spanish_of, spanish[len(para):]):
        add("other_language", it, text)
    for k, it in enumerate(_pick(test, rates.contamination, len(test), rng)):
        add("contamination", it, it["text"] if k % 2 == 0 else edited(it["text"], rng, 0.03),
            detail="verbatim" if k % 2 == 0 else "edited")
    for it in _pick(clean, rates.truncated, len(train), rng):
        add("truncated", it, " ".join(it["text"].split()[: rng.randint(2, 5)]))
    for it in _pick(clean, rates.garbled, len(train), rng):
        add("garbled", it, garbled(it["text"], rng))
    for it in _pick(clean, rates.boilerplate, len(train), rng):
        footer = _FOOTER.format(year=rng.choice([2019, 2020, 2021]), firm=rng.choice(_FIRMS))
        add("boilerplate", it, footer)

    corrupted = out + new
    rng.shuffle(corrupted)
    return corrupted, truth
