"""The exact level, and what every level shares: keep-one, naming what a drop duplicates,
group joining, family exemption, stable decisions, decontamination and incremental runs."""

from __future__ import annotations

import json
import random

import pyarrow.parquet as pq
import pytest

from pipeline.dedup.config import DedupConfig
from pipeline.records import operation
from tests.dedup.helpers import doc, kept_ids, qa, rejected, run_level
from tests.split.builders import write_jsonl


def test_exact_copies_keep_one_and_every_drop_names_the_kept_record(tmp_path):
    a = qa("How are you?", "Fine, thanks.", source="s1")
    copies = [qa("how  are YOU?", "Fine, thanks.", source="s2"), qa("How are you?", "Fine, thanks.", source="s3")]
    other = qa("How are you?", "Terrible.", source="s1")  # same prompt, other answer: another example
    out = run_level(tmp_path, "exact", [a, *copies, other], keep=["earliest"])
    assert kept_ids(out) == [a["id"], other["id"]]
    rej = rejected(out)
    assert set(rej) == {c["id"] for c in copies}
    for r in rej.values():
        assert r["reason"] == "exact_duplicate" and r["duplicate_of"] == a["id"] and r["similarity"] == 1.0
        assert r["stage"] == "dedup_exact" and a["id"] in r["detail"]


def test_prompt_only_comparison_is_configurable(tmp_path):
    a, b = qa("How are you?", "Fine."), qa("How are you?", "Terrible.")
    out = run_level(tmp_path, "exact", [a, b], fields={"instruction": ["prompt"]}, keep=["earliest"])
    assert kept_ids(out) == [a["id"]] and rejected(out)[b["id"]]["duplicate_of"] == a["id"]


@pytest.mark.parametrize("rules,expected", [
    (["longest"], 2), (["earliest"], 0), (["quality"], 1), (["annotated", "earliest"], 3),
])
def test_keep_rule_decides_which_copy_stays(tmp_path, rules, expected):
    rows = [qa("Same question", "Same answer", source=f"s{i}") for i in range(4)]
    # Equal once normalised, but the longest response (by one trailing space).
    rows[2]["response"] = "Same answer "
    rows[3]["operations"] = [operation("annotation.accept", "annotation")]
    scored = [dict(r, score_symbol_ratio=0.4) for r in rows]
    scored[1]["score_symbol_ratio"] = 0.0  # the cleanest by cleaning's scores
    out = run_level(tmp_path, "exact", scored, keep=rules)
    assert kept_ids(out) == [rows[expected]["id"]]


def test_keep_one_never_empties_a_cluster(tmp_path):
    rng = random.Random(3)
    texts = [f"text number {i} about subject {i % 7}" for i in range(40)]
    rows, content_of = [], {}
    for i in range(300):
        t = rng.choice(texts)
        r = doc(t + (" " * rng.randint(0, 2)), source=f"s{i}")
        rows.append(r)
        content_of[r["id"]] = t
    out = run_level(tmp_path, "exact", rows)
    kept = kept_ids(out)
    assert sorted(content_of[k] for k in kept) == sorted(set(content_of.values()))
    for r in rejected(out).values():
        assert r["duplicate_of"] in kept and content_of[r["duplicate_of"]] == content_of[r["id"]]


def test_groups_of_a_cluster_are_joined_so_the_split_keeps_them_together(tmp_path):
    a = doc("the same mail body", group="g-b")
    b = doc("The same mail body", group="g-a")
    sibling = doc("a reply in the thread of b", group="g-a")
    out = run_level(tmp_path, "exact", [a, b, sibling], keep=["earliest"])
    kept = {r["id"]: r for r in out.read_kept().to_pylist()}
    assert set(kept) == {a["id"], sibling["id"]}
    assert kept[a["id"]]["group_id"] == kept[sibling["id"]]["group_id"] == "g-a"  # the smaller id names it
    assert kept[a["id"]]["operations"][-1]["op"] == "dedup_exact.merge_group"
    assert out.manifest["counters"]["groups:merged"] == 1


def test_records_of_one_group_are_not_duplicates_of_each_other_unless_configured(tmp_path):
    family = [doc("an augmented text", group="fam"), doc("An augmented  TEXT", group="fam")]
    outsider = doc("an augmented text", group="zzz")
    out = run_level(tmp_path / "a", "exact", [*family, outsider], keep=["earliest"])
    assert kept_ids(out) == [family[0]["id"], family[1]["id"]]
    assert rejected(out)[outsider["id"]]["duplicate_of"] == family[0]["id"]
    roles = dict(zip(*[pq.read_table(out.path / "clusters.parquet").column(c).to_pylist() for c in ("id", "role")]))
    assert roles == {family[0]["id"]: "keep", family[1]["id"]: "family", outsider["id"]: "duplicate"}
    within = run_level(tmp_path / "b", "exact", [*family, outsider], keep=["earliest"], compare_within_group=True)
    assert kept_ids(within) == [family[0]["id"]]


def test_a_family_repeating_itself_is_no_cluster(tmp_path):
    rows = [doc("hello there", group="conv"), doc("Hello there", group="conv"), doc("bye", group="conv")]
    out = run_level(tmp_path, "exact", rows)
    assert out.counts["rejected"] == 0 and out.manifest["counters"]["dedup:clusters"] == 0


def test_decisions_and_group_ids_are_stable_across_runs_and_input_order(tmp_path):
    rng = random.Random(0)
    rows = [doc(f"mail {rng.randint(0, 30)}", group=f"g{rng.randint(0, 50)}", source=f"s{i}") for i in range(200)]
    first = run_level(tmp_path / "a", "exact", rows, keep=["longest"])
    shuffled = rows[:]
    rng.shuffle(shuffled)
    second = run_level(tmp_path / "b", "exact", shuffled, keep=["longest"])
    by_id = lambda out: {r["id"]: r["group_id"] for r in out.read_kept().to_pylist()}  # noqa: E731
    assert by_id(first) == by_id(second)
    assert {k: v["duplicate_of"] for k, v in rejected(first).items()} == \
           {k: v["duplicate_of"] for k, v in rejected(second).items()}


def test_rerun_reuses_the_stored_level(tmp_path):
    rows = [doc("x y z"), doc("X  y z", source="u")]
    first = run_level(tmp_path, "exact", rows)
    again = run_level(tmp_path, "exact", rows)
    assert again.reused and again.path == first.path


def test_drop_off_keeps_duplicates_in_one_group(tmp_path):
    a, b = doc("same", group="g1"), doc("same ", group="g2", source="u")
    out = run_level(tmp_path, "exact", [a, b], drop=False)
    assert out.counts["rejected"] == 0
    assert {r["group_id"] for r in out.read_kept().to_pylist()} == {"g1"}


def test_reference_set_copies_are_removed_and_named(tmp_path):
    bench = write_jsonl(tmp_path / "bench.jsonl", [{"question": "What is 2 + 2?", "answer": "4"}])
    leaked, clean = qa("what is 2 + 2?", "4"), qa("What is 3 + 3?", "6")
    out = run_level(tmp_path, "exact", [leaked, clean], reference_sets=[
        {"name": "arith", "kind": "instruction", "path": str(bench), "fields": {"prompt": "question", "response": "answer"}}])
    r = rejected(out)[leaked["id"]]
    assert r["reason"] == "reference_exact:arith" and "bench.jsonl:1" in r["detail"] and r["duplicate_of"]
    assert kept_ids(out) == [clean["id"]]
    assert out.manifest["counters"]["reference:arith:removed"] == 1


def test_incremental_run_compares_with_an_earlier_output_and_keeps_its_records(tmp_path):
    old = [doc(f"old text {i}") for i in range(5)]
    first = run_level(tmp_path / "old", "exact", old)
    new = [doc("old text 3", source="new"), doc("brand new text", source="new"), doc("brand new text ", source="n2")]
    second = run_level(tmp_path / "new", "exact", new, against=[str(first.path)], keep=["earliest"])
    rej = rejected(second)
    assert rej[new[0]["id"]]["duplicate_of"] == old[3]["id"] and "existing record" in rej[new[0]["id"]]["detail"]
    assert kept_ids(second) == [new[1]["id"]]  # the in-batch copy is still deduplicated
    # The run directory works as well: its newest dedup_exact output is used.
    third = run_level(tmp_path / "third", "exact", new, against=[str(tmp_path / "old")])
    assert rejected(third)[new[0]["id"]]["duplicate_of"] == old[3]["id"]


def test_against_a_folder_without_an_index_fails_clearly(tmp_path):
    with pytest.raises(ValueError, match="no dedup_exact output"):
        run_level(tmp_path, "exact", [doc("a")], against=[str(tmp_path / "nothing")])


def test_config_checks():
    with pytest.raises(ValueError, match="exceeds num_perm"):
        DedupConfig.model_validate({"near": {"num_perm": 64, "bands": 10, "rows": 8}})
    with pytest.raises(ValueError, match="together"):
        DedupConfig.model_validate({"near": {"bands": 10}})
    with pytest.raises(ValueError, match="content fields"):
        DedupConfig.model_validate({"fields": {"instruction": ["label"]}})
    with pytest.raises(ValueError, match="repeated"):
        DedupConfig.model_validate({"keep": ["quality", "quality"]})
    assert json.dumps(DedupConfig().model_dump(mode="json"))


def test_the_same_record_read_twice_is_a_duplicate_although_it_shares_its_group(tmp_path):
    a = doc("a line repeated in one file")
    out = run_level(tmp_path, "exact", [a, dict(a), dict(a)])
    assert out.counts["kept"] == 1 and out.counts["rejected_by_reason"] == {"exact_duplicate": 2}
    assert all(r["duplicate_of"] == a["id"] for r in out.read_rejected().to_pylist())
