"""What every scorer is, what it scores, and scoring through the cache.

A scorer turns items (a record's prompt and response, as plain strings) into one row of outputs
each, or a failure reason. Scores are cached by content hash under a namespace that is the
scorer's provenance (model and its fingerprint, prompt template hash, settings), so a restarted
or repeated run scores nothing twice. A failure that asking again cannot change (an unparsable
answer at temperature 0) is cached as such; a transient one (timeout, 5xx) is not.
"""

from __future__ import annotations

import hashlib
import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.vector_cache import VectorCache

# Cached rows hold the outputs, then minutes since this epoch (exact in float32 for ~30 years),
# then a status: 0 scored, or the code of a failure that would recur.
_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z
PERMANENT_FAILURES = ("unparsable", "empty_response", "no_word_list")


@dataclass(frozen=True)
class Output:
    name: str
    better: str  # "high" or "low": the end top-k keeps by default


@dataclass(frozen=True)
class Item:
    """What a scorer sees of a record: the prompt (None for plain text) and the scored text."""

    kind: str
    prompt: str | None
    response: str
    lang: str | None = None  # the clean step's language, when it ran

    def key(self) -> bytes:
        data = json.dumps([self.kind, self.prompt, self.response, self.lang], ensure_ascii=False).encode()
        return hashlib.blake2b(data, digest_size=16).digest()


@dataclass
class Scored:
    """Rows of outputs (NaN: not applicable, e.g. IFD without a prompt) or a failure per item."""

    values: np.ndarray  # (n, k) float64
    failures: list[str | None]

    @classmethod
    def empty(cls, n: int, k: int) -> "Scored":
        return cls(np.full((n, k), np.nan), [None] * n)


class Scorer(ABC):
    """Subclasses set `outputs` and `default_kinds`; `setup()` loads the model once per process."""

    outputs: tuple[Output, ...]
    default_kinds: tuple[str, ...] = ("classification", "instruction", "code")

    def setup(self) -> None:
        """Load the model (or open the client)."""

    @abstractmethod
    def provenance(self) -> dict[str, Any]:
        """Everything that makes these scores what they are, as JSON."""

    @abstractmethod
    def score(self, items: list[Item]) -> Scored: ...


def provenance_id(provenance: dict[str, Any]) -> str:
    return hashlib.blake2b(json.dumps(provenance, sort_keys=True).encode(), digest_size=8).hexdigest()


def minutes_now() -> float:
    return float((int(time.time()) - _EPOCH) // 60)


def iso_minute(minutes: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(_EPOCH + int(minutes) * 60))


@dataclass
class ScoredItems:
    values: np.ndarray  # (n, k)
    failures: list[str | None]
    minutes: np.ndarray  # (n,) when each score was made (NaN: failed now)
    counters: dict[str, int] = field(default_factory=dict)


def score_cached(scorer: Scorer, items: list[Item], cache: VectorCache | None) -> ScoredItems:
    """Every item's outputs, scoring only distinct items the cache does not hold."""
    k = len(scorer.outputs)
    n = len(items)
    values, minutes = np.full((n, k), np.nan), np.full(n, np.nan)
    failures: list[str | None] = [None] * n
    keys = [it.key() for it in items]
    first: dict[bytes, int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    distinct = list(first)
    found, rows = (cache.get(distinct) if cache is not None and distinct
                   else (np.zeros(len(distinct), bool), np.empty((0, k + 2), np.float32)))
    by_key: dict[bytes, tuple[np.ndarray, float, str | None]] = {}
    for key, row in zip((d for d, f in zip(distinct, found) if f), rows):
        status = int(row[k + 1])
        by_key[key] = (row[:k].astype(np.float64), float(row[k]), PERMANENT_FAILURES[status - 1] if status else None)
    todo = [d for d, f in zip(distinct, found) if not f]
    counters = {"scores:cached": len(by_key), "scores:computed": 0, "scores:failed": 0}
    if todo:
        scorer.setup()
        scored = scorer.score([items[first[d]] for d in todo])
        now = minutes_now()
        store_keys, store_rows = [], []
        for d, row, failure in zip(todo, scored.values, scored.failures):
            if failure is None or failure in PERMANENT_FAILURES:
                status = 0 if failure is None else PERMANENT_FAILURES.index(failure) + 1
                store_keys.append(d)
                store_rows.append(np.concatenate([row, [now, status]]))
            by_key[d] = (row, now if failure is None else np.nan, failure)
            counters["scores:computed" if failure is None else "scores:failed"] += 1
        if cache is not None and store_keys:
            cache.put(store_keys, np.array(store_rows, dtype=np.float32))
    for i, key in enumerate(keys):
        row, at, failure = by_key[key]
        values[i], minutes[i], failures[i] = row, at, failure
    return ScoredItems(values, failures, minutes, counters)


def item_of(kind: str, fields: dict[str, Any]) -> Item:
    """A record's prompt and scored text: instruction (system + prompt, response), code (prompt,
    code), classification (no prompt, text)."""
    lang = fields.get("lang")
    lang = None if lang in (None, "und", "zxx") else lang
    if kind == "instruction":
        system, prompt = fields.get("system"), fields.get("prompt") or ""
        return Item(kind, f"{system}\n\n{prompt}" if system else prompt, fields.get("response") or "", lang)
    if kind == "code":
        return Item(kind, fields.get("prompt") or "", fields.get("code") or "", lang)
    return Item(kind, None, fields.get("text") or "", lang)
