from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.collect import CollectStage
from pipeline.collect.config import CollectConfig, SourceConfig
from pipeline.engine import run_stage
from pipeline.store import StageOutput, StageStore


def assert_accounted(out: StageOutput) -> None:
    """records in = kept + rejected, and every rejected row has a reason and an origin."""
    c = out.counts
    assert c["in"] == c["kept"] + c["rejected"]
    kept, rejected = out.read_kept(), out.read_rejected()
    assert kept.num_rows == c["kept"] and rejected.num_rows == c["rejected"]
    assert sum(c["rejected_by_reason"].values()) == c["rejected"]
    for row in rejected.to_pylist():
        assert row["reason"] and row["origin"], row


@pytest.fixture
def run_collect(tmp_path: Path):
    def _run(*sources: dict[str, Any], batch_size: int = 3) -> StageOutput:
        cfgs = [SourceConfig.model_validate(s) for s in sources]
        out = run_stage(CollectStage(cfgs, CollectConfig()), None, StageStore(tmp_path / "run"), batch_size=batch_size)
        assert_accounted(out)
        return out

    return _run


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def reasons_by_origin(out: StageOutput) -> dict[str, str]:
    return {r["origin"]: r["reason"] for r in out.read_rejected().to_pylist()}
