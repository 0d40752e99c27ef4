"""The split stage end to end: stability, groups, ratios, duplicate merging, labels, reuse."""

from __future__ import annotations

import json
import random

import pyarrow.parquet as pq

from pipeline.split import SPLITS, SplitConfig, assign_split, read_split, split_fingerprints
from pipeline.engine import run_stage
from pipeline.split.stage import SplitStage
from pipeline.store import StageStore

from tests.split.builders import assignment, qa, record, run_split, stored_input, text

KEY = "curate-split-v1"


def test_adding_records_never_moves_an_existing_one(tmp_path):
    old = [qa(i) for i in range(2000)]
    before = assignment(run_split(tmp_path / "a", old))
    after = assignment(run_split(tmp_path / "b", old + [qa(f"new {i}") for i in range(500)]))
    assert len(before) == 2000 and len(after) == 2500
    assert {rid: after[rid] for rid in before} == before


def test_the_same_input_in_another_order_gets_the_same_assignment(tmp_path):
    rows = [qa(i) for i in range(1500)] + [qa(i, group=f"conv{i % 50}") for i in range(1500, 1700)]
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    a, b = run_split(tmp_path / "a", rows), run_split(tmp_path / "b", shuffled)
    assert assignment(a) == assignment(b)
    assert a.manifest["counters"] == b.manifest["counters"]
    assert split_fingerprints(a) == split_fingerprints(b)  # the ids per split, whatever the row order


def test_groups_never_straddle_splits(tmp_path):
    rows = []
    for g in range(200):  # a record and its two augmented variants
        original = qa(f"base {g}", group=f"aug{g}")
        rows.append(original)
        rows += [qa(f"base {g} variant {v}", group=f"aug{g}", parent=original["id"]) for v in range(2)]
    rows += [text(f"cheap watches for sale today number {v}", "spam", group="near-dup-cluster") for v in range(30)]
    out = run_split(tmp_path, rows)
    kept = out.read_kept().to_pylist()
    splits_of_group: dict[str, set[str]] = {}
    for r in kept:
        splits_of_group.setdefault(r["group_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits_of_group.values())
    assert len(splits_of_group) == 201
    counters = out.manifest["counters"]
    assert counters["groups:straddling"] == 0 and counters["groups:total"] == 201
    # Each group sits where the hash of its id puts it.
    assert all(s == {assign_split(g, KEY, (0.8, 0.1, 0.1))} for g, s in splits_of_group.items())


def test_ratios_are_roughly_respected(tmp_path):
    out = run_split(tmp_path, [qa(i) for i in range(5000)], ratios={"train": 0.7, "validation": 0.1, "test": 0.2})
    c = out.manifest["counters"]
    assert abs(c["split:train"] / 5000 - 0.7) < 0.02
    assert abs(c["split:validation"] / 5000 - 0.1) < 0.02
    assert abs(c["split:test"] / 5000 - 0.2) < 0.02
    assert sum(c[f"split:{s}"] for s in SPLITS) == 5000


def _groups_in_different_splits() -> tuple[str, str]:
    """Two group ids the hash puts in train and in test."""
    train = next(f"a{i}" for i in range(1000) if assign_split(f"a{i}", KEY, (0.8, 0.1, 0.1)) == "train")
    test = next(f"b{i}" for i in range(1000) if assign_split(f"b{i}", KEY, (0.8, 0.1, 0.1)) == "test")
    return train, test


def _copies_in_two_groups() -> list[dict]:
    g_train, g_test = _groups_in_different_splits()
    # The same prompt, spaced and cased differently, from two sources: different ids and groups.
    return [record("instruction", group=g_train, source="s1", prompt="What is 2+2?", response="4"),
            record("instruction", group=g_test, source="s2", prompt="what  is 2+2? ", response="four"),
            *[qa(i) for i in range(300)]]


def test_exact_duplicates_in_different_groups_are_merged_into_one_split(tmp_path):
    rows = _copies_in_two_groups()
    out = run_split(tmp_path, rows)
    kept = {r["id"]: r for r in out.read_kept().to_pylist()}
    a, b = kept[rows[0]["id"]], kept[rows[1]["id"]]
    representative = min(rows[0]["group_id"], rows[1]["group_id"])
    assert a["split"] == b["split"] and a["group_id"] == b["group_id"] == representative
    # The record whose group changed says so in its lineage; the other is untouched.
    moved = b if rows[1]["group_id"] != representative else a
    op = moved["operations"][-1]
    assert op["op"] == "split.merge_group" and op["stage"] == "split"
    assert json.loads(op["params"])["merged_into"] == representative
    assert [o["op"] for o in (a if moved is b else b)["operations"]] == ["collect.jsonl"]
    c = out.manifest["counters"]
    assert c["leakage:test_exact_in_train"] == 0 and c["leakage:validation_exact_in_train"] == 0
    assert c["groups:merged"] == 1 and c["groups:straddling"] == 0


def test_without_merging_exact_duplicates_leak_and_the_counter_says_so(tmp_path):
    rows = _copies_in_two_groups()
    out = run_split(tmp_path, rows, merge_exact_duplicates=False)
    split = assignment(out)
    assert (split[rows[0]["id"]], split[rows[1]["id"]]) == ("train", "test")
    assert out.manifest["counters"]["leakage:test_exact_in_train"] == 1


def test_small_labels_get_a_test_and_a_train_group_and_labels_are_counted(tmp_path):
    def groups_in(split: str, n: int) -> list[str]:
        found = (f"r{i}" for i in range(5000) if assign_split(f"r{i}", KEY, (0.8, 0.1, 0.1)) == split)
        return [next(found) for _ in range(n)]

    rare = [text(f"rare sample {i}", "rare", group=g) for i, g in enumerate(groups_in("train", 3))]
    common = [text(f"common sample {i}", "common") for i in range(400)]
    out = run_split(tmp_path / "on", rare + common)
    c = out.manifest["counters"]
    assert c["split:test:label=rare"] == 1 and c["split:train:label=rare"] == 2
    assert c["groups:moved_for_label_coverage"] == 1
    assert sum(c[f"split:{s}:label=common"] for s in SPLITS if f"split:{s}:label=common" in c) == 400
    assert c["split:test:label=common"] > 0 and c["split:train:label=common"] > 0
    # Without stratify, hashing alone decides: the rare label has no test record.
    off = run_split(tmp_path / "off", rare + common, stratify=False)
    assert "split:test:label=rare" not in off.manifest["counters"]
    assert off.manifest["counters"]["groups:moved_for_label_coverage"] == 0


def test_every_input_column_passes_through_and_helpers_read_splits(tmp_path):
    rows = [qa(i) for i in range(400)]
    out = run_split(tmp_path, rows, scored=True)
    schema = out.kept_schema()
    assert schema.names[-2:] == ["score_chars", "split"]
    test = read_split(out, "test", columns=["id", "score_chars"])
    assert test.column_names == ["id", "score_chars"]
    assert test.num_rows == out.manifest["counters"]["split:test"] > 0
    assert set(read_split(out, "validation").column("split").to_pylist()) == {"validation"}
    fps = split_fingerprints(out)
    assert set(fps) == set(SPLITS) and len(set(fps.values())) == 3


def test_a_second_run_reuses_the_stored_split(tmp_path):
    store = StageStore(tmp_path)
    source = stored_input(store, [qa(i) for i in range(50)])
    first = run_stage(SplitStage(SplitConfig()), source, store)
    again = run_stage(SplitStage(SplitConfig()), source, store)
    assert not first.reused and again.reused and again.path == first.path
    other_key = run_stage(SplitStage(SplitConfig(key="another-salt")), source, store)
    assert not other_key.reused


def test_collected_conversations_stay_together(tmp_path):
    from pipeline.collect import CollectStage
    from pipeline.collect.config import CollectConfig, SourceConfig

    from tests.split.builders import write_jsonl

    rows = [{"conv": f"c{c}", "prompt": f"turn {t} of conversation {c}", "response": "ok"}
            for c in range(60) for t in range(3)]
    source = SourceConfig(name="chats", kind="instruction", format="jsonl", fields={"group": "conv"},
                          path=str(write_jsonl(tmp_path / "chats.jsonl", rows)))
    store = StageStore(tmp_path / "run")
    collected = run_stage(CollectStage([source], CollectConfig()), None, store, batch_size=50)
    out = run_stage(SplitStage(SplitConfig()), collected, store, batch_size=40)
    c = out.manifest["counters"]
    assert c["groups:total"] == 60 and c["groups:straddling"] == 0
    assert sum(c[f"split:{s}"] for s in SPLITS) == 180
