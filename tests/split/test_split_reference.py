"""Reference sets: benchmark copies are rejected with a reason; unrelated records stay."""

from __future__ import annotations

import json
import os

from pipeline.split import SplitConfig
from pipeline.engine import run_stage
from pipeline.split.stage import SplitStage
from pipeline.store import StageStore

from tests.split.builders import qa, record, run_split, stored_input, text, write_jsonl

# 30-word benchmark texts.
BENCH = [
    "the committee met on tuesday to review the annual budget and after a long debate agreed to fund two new "
    "libraries a small park and repairs to the old bridge",
    "a fox crossed the frozen lake at dawn while the village slept and by noon its tracks had vanished under "
    "fresh snow that fell from a pale grey winter sky",
]
assert [len(s.split()) for s in BENCH] == [30, 30]


def _edit(sentence: str, changes: dict[int, str]) -> str:
    words = sentence.split()
    for i, w in changes.items():
        words[i] = w
    return " ".join(words)


def _bench_file(tmp_path):
    return write_jsonl(tmp_path / "bench.jsonl", [{"sentence": s, "gold": "news"} for s in BENCH])


def _bench_config(tmp_path, **kw):
    return {"reference_sets": [{"name": "newsbench", "kind": "classification", "path": str(_bench_file(tmp_path)),
                                "fields": {"text": "sentence", "label": "gold"}, **kw}]}


def test_exact_and_lightly_edited_copies_are_rejected_unrelated_records_kept(tmp_path):
    exact = text(BENCH[0].upper().replace(" ", "  "), "spam")  # case and spacing do not hide a copy
    edited = text(_edit(BENCH[1], {0: "one", 29: "overhead"}), "ham")  # two words changed
    unrelated = [text(f"an unrelated message about gardening tips number {i}", "ham") for i in range(20)]
    out = run_split(tmp_path / "run", [exact, edited, *unrelated], **_bench_config(tmp_path))
    rejected = {r["id"]: r for r in out.read_rejected().to_pylist()}
    assert set(rejected) == {exact["id"], edited["id"]}
    assert rejected[exact["id"]]["reason"] == "reference_exact:newsbench"
    assert "bench.jsonl:1" in rejected[exact["id"]]["detail"]
    near = rejected[edited["id"]]
    assert near["reason"] == "reference_near:newsbench" and "bench.jsonl:2" in near["detail"]
    assert "Jaccard 0.857" in near["detail"]  # 24 of 26 shingles kept: 24 / 28
    assert json.loads(near["record"])["text"] == edited["text"] and near["origin"] == edited["origin"]
    # Removed from every split: no kept record carries a benchmark text.
    assert out.counts == {"in": 22, "kept": 20, "rejected": 2,
                          "rejected_by_reason": {"reference_exact:newsbench": 1, "reference_near:newsbench": 1}}
    c = out.manifest["counters"]
    assert sum(c[f"split:{s}"] for s in ("train", "validation", "test")) == 20
    assert c["reference:newsbench:records"] == 2 and c["reference:newsbench:unreadable"] == 0


def test_edits_inside_a_short_text_need_a_lower_threshold(tmp_path):
    # Word 5-grams are strict: two words changed mid-text touch 10 of 26 shingles (Jaccard 0.44).
    edited = text(_edit(BENCH[0], {10: "whole", 20: "three"}), "ham")
    rows = [edited, text("nothing like the benchmark at all", "ham")]
    assert run_split(tmp_path / "strict", rows, **_bench_config(tmp_path)).counts["rejected"] == 0
    loose = run_split(tmp_path / "loose", rows, **_bench_config(tmp_path, near_threshold=0.4))
    assert loose.counts["rejected_by_reason"] == {"reference_near:newsbench": 1}


def test_a_csv_benchmark_of_prompts_alone_is_read_with_the_collection_readers(tmp_path):
    bench = tmp_path / "qa.csv"
    bench.write_text("question,notes\nWhat is the capital of France?,geo\nName three primary colours.,art\n")
    ref = {"name": "quiz", "kind": "instruction", "path": str(bench), "format": "csv",
           "fields": {"prompt": "question"}}
    rows = [record("instruction", prompt="what is the capital of  France?", response="Paris"),
            text("What is the capital of France?", "geo"),  # another kind: not compared
            *[qa(i) for i in range(10)]]
    out = run_split(tmp_path / "run", rows, reference_sets=[ref])
    assert out.counts["rejected_by_reason"] == {"reference_exact:quiz": 1}
    assert out.manifest["counters"]["reference:quiz:records"] == 2


def test_a_changed_reference_file_invalidates_the_stored_split(tmp_path):
    store = StageStore(tmp_path / "run")
    source = stored_input(store, [text(f"message {i}", "ham") for i in range(30)])
    config = SplitConfig.model_validate(_bench_config(tmp_path))
    first = run_stage(SplitStage(config), source, store)
    assert run_stage(SplitStage(config), source, store).reused
    bench = tmp_path / "bench.jsonl"
    bench.write_text(bench.read_text() + json.dumps({"sentence": "message 3", "gold": "x"}) + "\n")
    os.utime(bench, ns=(1, 1))
    changed = run_stage(SplitStage(config), source, store)
    assert not changed.reused and changed.path != first.path
    assert changed.counts["rejected_by_reason"] == {"reference_exact:newsbench": 1}
