"""The JSON Schema files agree with the code's models; configs fail early, naming the key."""

from __future__ import annotations

import json

import jsonschema
import pytest

from pipeline.config import ConfigError, load_config, parse_config
from pipeline.records import KINDS, RECORD_SCHEMA, empty_record, operation, record_id
from pipeline.schema_files import CONFIG_SCHEMA_PATH, expected_files, record_schema_path, validation_error


def test_committed_schema_files_match_the_models():
    for path, schema in expected_files().items():
        assert json.loads(path.read_text()) == json.loads(json.dumps(schema)), (
            f"{path} is stale: run python -m pipeline.schema_files --write")


@pytest.mark.parametrize("kind", KINDS)
def test_every_schema_field_is_an_arrow_column(kind):
    props = json.loads(record_schema_path(kind).read_text())["properties"]
    assert set(props) <= set(RECORD_SCHEMA.names)


def _record(kind: str, **fields):
    rid = record_id(kind, "s", fields)
    return {"id": rid, "kind": kind, "source": "s", "group_id": rid,
            "operations": [operation("collect.jsonl", "collect")], **fields}


def test_validation_against_files_accepts_good_and_rejects_bad_records():
    good = _record("instruction", prompt="p", response="r")
    assert validation_error("instruction", good) is None
    jsonschema.validate(good, json.loads(record_schema_path("instruction").read_text()))
    missing = {k: v for k, v in good.items() if k != "response"}
    assert "response" in validation_error("instruction", missing)
    assert validation_error("instruction", {**good, "label": "x"}) is not None  # a field of another kind
    assert validation_error("code", _record("code", prompt="p", code="x = 1", language="python")) is None
    assert validation_error("classification", {**_record("classification", text="t", label="l"), "id": "nothex"})


def test_empty_record_has_every_column():
    assert set(empty_record()) == set(RECORD_SCHEMA.names)


def test_unknown_keys_and_wrong_types_are_named():
    with pytest.raises(ConfigError) as err:
        parse_config({"sources": [{"name": "a", "kind": "instruction", "format": "jsonl", "path": "x",
                                   "feilds": {}}],
                      "clean": {"quality": {"chars": {"min": "ten"}}, "pii": {"kinds": ["ssn"]}},
                      "run": {"workers": 0}})
    msg = str(err.value)
    for key in ("sources.0.feilds: unknown key", "clean.quality.chars.min", "clean.pii.kinds.0", "run.workers"):
        assert key in msg, msg


def test_source_rules_are_checked():
    with pytest.raises(ConfigError, match="needs path"):
        parse_config({"sources": [{"name": "a", "kind": "instruction", "format": "jsonl"}]})
    with pytest.raises(ConfigError, match="unknown schema field"):
        parse_config({"sources": [{"name": "a", "kind": "instruction", "format": "jsonl", "path": "x",
                                   "fields": {"answer": "a"}}]})
    with pytest.raises(ConfigError, match="unique"):
        src = {"name": "a", "kind": "instruction", "format": "jsonl", "path": "x"}
        parse_config({"sources": [src, src]})
    with pytest.raises(ConfigError, match="min 5.0 > max 1.0"):
        parse_config({"sources": [{"name": "a", "kind": "instruction", "format": "jsonl", "path": "x"}],
                      "clean": {"quality": {"words": {"min": 5, "max": 1}}}})


def yaml_config(tmp_path, clean: str):
    """A one-source config file with the given `clean:` section, loaded."""
    (tmp_path / "c.yaml").write_text(
        "run: {name: t, out_dir: out}\n"
        "sources:\n  - {name: s, kind: instruction, format: jsonl, path: data/x.jsonl}\n"
        f"clean: {clean}\n")
    return load_config(tmp_path / "c.yaml")


def test_yaml_config_resolves_paths_and_matches_the_config_schema(tmp_path):
    cfg = yaml_config(tmp_path, "{language: {allowed: [en, de]}}")
    assert cfg.run.out_dir == str(tmp_path / "out")
    assert cfg.sources[0].path == str(tmp_path / "data" / "x.jsonl")
    jsonschema.validate(cfg.model_dump(mode="json"), json.loads(CONFIG_SCHEMA_PATH.read_text()))
    (tmp_path / "bad.yaml").write_text("sources: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_id_normalisation_collapses_exactly_the_whitespace_a_regex_would():
    """Record ids are persisted: the split/join form must equal re.sub(r"\\s+", " ").strip()."""
    import random
    import re
    import sys
    import unicodedata

    from pipeline.records import normalise_for_id

    spaces = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF and re.fullmatch(r"\s", chr(c))]
    assert len(spaces) >= 25 and "\u3000" in spaces and "\x1c" in spaces
    rng = random.Random(0)
    alphabet = spaces + list("ab\ufb01") + ["\u00a0x"]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 10)))
        expected = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()
        assert normalise_for_id(text) == expected, repr(text)


def test_a_switched_off_clean_step_runs_no_stage(tmp_path):
    from pipeline.steps import STEPS, describe

    cfg = yaml_config(tmp_path, "{enabled: false}")
    clean = next(s for s in STEPS if s.name == "clean")
    assert clean.stages(cfg) == []
    assert "CleanStage" not in describe(cfg) and "DedupStage" in describe(cfg)
