"""Run the augment stages over test rows, checking the accounts every stage must keep."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.augment.config import AugmentConfig
from pipeline.augment.stage import CANDIDATES, AugmentStage
from pipeline.engine import run_stage
from pipeline.store import StageOutput, StageStore
from tests.split.builders import stored_input


def run_augment(tmp: Path, rows: list[dict[str, Any]], batch_size: int = 32,
                **config: Any) -> tuple[StageOutput, list[dict[str, Any]], list[StageOutput]]:
    """(last stage's output, every candidate of every stage, the stage outputs in order)."""
    store = StageStore(tmp)
    cfg = AugmentConfig.model_validate({"enabled": True, **config})
    source, outs = stored_input(store, rows), []
    for spec in cfg.augmenters:
        source = run_stage(AugmentStage(cfg, spec, tmp / "cache"), source, store, batch_size=batch_size)
        outs.append(source)
    cands: list[dict[str, Any]] = []
    n_in = len(rows)
    for out in outs:
        c = out.counts
        assert c["in"] == n_in  # each stage reads the previous one's kept records
        assert c["in"] + c.get("generated", 0) == c["kept"] + c["rejected"]
        assert sum(c["rejected_by_reason"].values()) == c["rejected"]
        assert out.read_rejected().num_rows == c["rejected"]
        stage_cands = pq.read_table(out.path / CANDIDATES).to_pylist()
        assert len(stage_cands) == c.get("generated", 0)
        assert Counter(x["decision"] for x in stage_cands if x["decision"] != "kept") == Counter(c["rejected_by_reason"])
        cands += stage_cands
        n_in = c["kept"]
    return outs[-1], cands, outs
