"""Dedup and the split together: near copies in different groups leak across splits until the
dedup stage joins their groups; the split measures that leakage."""

from __future__ import annotations

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.stage import DedupStage
from pipeline.engine import run_stage
from pipeline.split import SplitConfig
from pipeline.split.stage import SplitStage
from pipeline.store import StageStore
from tests.dedup.helpers import doc, stored_input

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa".split()


def texts(n: int) -> list[tuple[str, str]]:
    """n (original, near copy) pairs of distinct 16-word texts; the copy changes its last word."""
    out = []
    for i in range(n):
        words = [f"{w}{i}" for w in WORDS] + [f"item{i}"]
        out.append((" ".join(words), " ".join(words[:-1] + ["changed"])))
    return out


def test_split_counts_near_leakage_and_dedup_groups_remove_it(tmp_path):
    rows = [doc(t, source=src) for pair in texts(150) for t, src in zip(pair, ("a", "b"))]
    store = StageStore(tmp_path)
    source = stored_input(store, rows)
    before = run_stage(SplitStage(SplitConfig()), source, store)
    leaked = before.manifest["counters"]["leakage:test_near_in_train"]
    assert leaked > 0 and before.manifest["counters"]["leakage:test_exact_in_train"] == 0

    config = DedupConfig.model_validate({"drop": False, "exact": {"enabled": False}, "semantic": {"enabled": False}})
    grouped = run_stage(DedupStage("near", config), source, store)
    assert grouped.counts["rejected"] == 0 and grouped.manifest["counters"]["dedup:clusters"] == 150
    after = run_stage(SplitStage(SplitConfig()), grouped, store)
    c = after.manifest["counters"]
    assert c["leakage:test_near_in_train"] == 0 and c["leakage:validation_near_in_train"] == 0
    assert c["groups:straddling"] == 0
