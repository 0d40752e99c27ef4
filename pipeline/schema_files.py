"""The JSON Schema files in `schemas/`: where they live, how they are written, how records
are validated against them.

The files are generated from the code's models (`python -m pipeline.schema_files --write`)
and committed; a test fails when the two disagree, so the files are always the contract.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from pipeline.paths import SCHEMAS_DIR

RECORD_SCHEMAS_DIR = SCHEMAS_DIR / "records"
CONFIG_SCHEMA_PATH = SCHEMAS_DIR / "config.schema.json"


def record_schema_path(kind: str) -> Path:
    return RECORD_SCHEMAS_DIR / f"{kind}.schema.json"


def model_record_schema(kind: str) -> dict[str, Any]:
    from pipeline.records import RECORD_MODELS

    schema = RECORD_MODELS[kind].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"curate/records/{kind}.schema.json"
    return schema


def model_config_schema() -> dict[str, Any]:
    from pipeline.config import PipelineConfig

    schema = PipelineConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "curate/config.schema.json"
    return schema


def expected_files() -> dict[Path, dict[str, Any]]:
    from pipeline.records import KINDS

    files = {record_schema_path(k): model_record_schema(k) for k in KINDS}
    files[CONFIG_SCHEMA_PATH] = model_config_schema()
    return files


def write_schema_files() -> list[Path]:
    written = []
    for path, schema in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


@lru_cache(maxsize=None)
def record_validator(kind: str) -> Callable[[dict[str, Any]], Any]:
    """A compiled validator for one record kind, built from the committed schema file."""
    import fastjsonschema

    schema = json.loads(record_schema_path(kind).read_text())
    schema.pop("$id", None)  # the id is a name, not a URL the resolver should try to fetch
    return fastjsonschema.compile(schema)


def validation_error(kind: str, record: dict[str, Any]) -> str | None:
    """None when the record satisfies its kind's schema file, else the validator's message."""
    import fastjsonschema

    try:
        record_validator(kind)(record)
    except fastjsonschema.JsonSchemaValueException as exc:
        return exc.message
    return None


if __name__ == "__main__":
    if "--write" in sys.argv:
        for p in write_schema_files():
            print(p)
    else:
        print("usage: python -m pipeline.schema_files --write")
