"""Shared helpers for the clean-stage tests: tiny records and one-record runs.

Test modules reach the helpers through the `h` fixture rather than `import conftest`: the
tests folders have no __init__.py, so a bare `conftest` module name would be ambiguous.
"""

from __future__ import annotations

import json
import types
from typing import Any

import pytest

from pipeline.clean import CleanStage
from pipeline.clean.config import CleanConfig
from pipeline.records import empty_record, operation, record_id, records_to_table
from pipeline.store import BatchResult

# Sentences long enough (>= 40 chars) for language identification to judge.
ENGLISH = "The weather was lovely today, so we walked along the river and had a picnic."
GERMAN = "Das Wetter war heute herrlich, also sind wir am Fluss entlang spazieren gegangen."
FRENCH = "Il faisait très beau aujourd'hui, alors nous avons marché le long de la rivière."


def make_record(kind: str, source: str = "test", origin: str | None = None, **fields: Any) -> dict[str, Any]:
    """A schema-complete record of `kind` with a real id and one collect operation."""
    rid = record_id(kind, source, fields)
    return empty_record(
        id=rid,
        kind=kind,
        source=source,
        origin=origin or f"{source}.jsonl:1",
        group_id=rid,
        operations=[operation("collect.jsonl", "collect")],
        **fields,
    )


def classification(text: str, label: str = "pos", **kw: Any) -> dict[str, Any]:
    return make_record("classification", text=text, label=label, **kw)


def instruction(prompt: str, response: str, **kw: Any) -> dict[str, Any]:
    return make_record("instruction", prompt=prompt, response=response, **kw)


def code(prompt: str, source: str, language: str = "python", **kw: Any) -> dict[str, Any]:
    return make_record("code", prompt=prompt, code=source, language=language, **kw)


def config(**sections: dict[str, Any]) -> CleanConfig:
    """A CleanConfig with some sections overridden, e.g. config(quality={"chars": {"max": 10}})."""
    return CleanConfig.model_validate(sections)


def run_records(records: list[dict[str, Any]], cfg: CleanConfig | None = None) -> BatchResult:
    stage = CleanStage(cfg or CleanConfig())
    return stage.process_batch(records_to_table(records).to_batches()[0])


def clean_one(record: dict[str, Any], cfg: CleanConfig | None = None) -> dict[str, Any]:
    """Clean one record: the kept row, or the reject row with its `record` parsed from JSON."""
    result = run_records([record], cfg)
    assert result.kept.num_rows + result.rejected.num_rows == 1
    if result.kept.num_rows:
        return {"kept": True, **result.kept.to_pylist()[0]}
    row = result.rejected.to_pylist()[0]
    return {"kept": False, **row, "record": json.loads(row["record"])}


@pytest.fixture(scope="session")
def stage() -> CleanStage:
    s = CleanStage(CleanConfig())
    s.setup()
    return s


@pytest.fixture(scope="session")
def h() -> types.SimpleNamespace:
    """The helpers above, for test modules."""
    return types.SimpleNamespace(
        ENGLISH=ENGLISH,
        GERMAN=GERMAN,
        FRENCH=FRENCH,
        make_record=make_record,
        classification=classification,
        instruction=instruction,
        code=code,
        config=config,
        run_records=run_records,
        clean_one=clean_one,
    )
