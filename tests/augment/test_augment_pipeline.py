"""Augmentation inside the pipeline: after dedup, before the split, families never straddle,
and held-out splits are the same with and without augmentation."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

from pipeline.config import parse_config
from pipeline.runner import run_pipeline

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def config(out: Path, augment: bool) -> dict:
    return {
        "run": {"out_dir": str(out), "workers": 1},
        "sources": [{"name": "stdlib", "kind": "code", "format": "code_tree", "path": str(STDLIB / "json")},
                    {"name": "stdlib2", "kind": "code", "format": "code_tree", "path": str(STDLIB / "email")}],
        "dedup": {"semantic": {"enabled": False}},
        "augment": {"enabled": augment, "augmenters": [{"method": "rename_identifiers"},
                                                       {"method": "add_docstring"}]},
    }


def test_augment_step_feeds_the_split_and_keeps_held_out_splits_original(tmp_path):
    plain = run_pipeline(parse_config(config(tmp_path / "plain", False)), until="split")
    aug = run_pipeline(parse_config(config(tmp_path / "aug", True)), until="split")
    assert not any(n.startswith("augment") for n in plain.outputs) and plain.steps["augment"] is plain.outputs["dedup_near"]
    assert aug.steps["augment"] is aug.outputs["augment_add_docstring"]
    rename, out = aug.outputs["augment_rename_identifiers"], aug.output("augment")
    assert rename.counts["in"] == plain.output("dedup").counts["kept"] and out.counts["in"] == rename.counts["kept"]
    for stage in (rename, out):
        c = stage.counts
        assert c["generated"] == rename.counts["in"]  # one candidate per original function, each stage
        assert c["in"] + c["generated"] == c["kept"] + c["rejected"]
    assert rename.manifest["counters"]["kept_generated"] > 0.5 * rename.counts["in"]

    split_aug = aug.outputs["split"].read_kept().to_pylist()
    split_plain = plain.outputs["split"].read_kept().to_pylist()
    # Families stay in one split.
    by_group: dict[str, set[str]] = {}
    for r in split_aug:
        by_group.setdefault(r["group_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_group.values())
    # Validation and test hold the same original records either way; train gains the augmented ones.
    for name in ("validation", "test"):
        assert sorted(r["id"] for r in split_aug if r["split"] == name) == \
            sorted(r["id"] for r in split_plain if r["split"] == name)
    derived = [r for r in split_aug if r["parent_id"]]
    assert derived and all(r["split"] == "train" for r in derived)
    rejected = aug.outputs["split"].read_rejected().to_pylist()
    held_out = [r for r in rejected if r["reason"] == "augmented_held_out"]
    assert held_out and len(split_aug) + len(rejected) == out.counts["kept"]
    assert all(json.loads(r["record"])["parent_id"] for r in held_out)
