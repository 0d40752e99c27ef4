"""The augment stage on real text (chatterbot pairs): back-translation and word-level augmenters,
gated by embedding similarity, length ratio and duplicates, with every candidate accounted for."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from pipeline.augment.report import augment_summary
from pipeline.demo.data import chatterbot_jsonl, data_home
from tests.augment.helpers import run_augment
from tests.split.builders import record


@pytest.fixture(scope="module")
def chat_rows() -> list[dict]:
    path = chatterbot_jsonl(data_home())
    if not path.is_file():
        pytest.fail("demo data missing: run `bash scripts/setup.sh`", pytrace=False)
    rows, seen = [], set()
    for line in path.read_text().splitlines():
        d = json.loads(line)
        if d["question"] in seen or len(d["question"].split()) < 4:
            continue
        seen.add(d["question"])
        rows.append(record("instruction", source="chatterbot", group=d["conversation"], prompt=d["question"],
                           response=d["answer"]))
        if len(rows) == 80:
            break
    return rows


def run(tmp: Path, rows: list[dict], **config) -> tuple:
    out, cands, _ = run_augment(tmp, rows, **config)
    return out, cands


def test_back_translation_of_prompts_is_gated_and_keeps_responses(tmp_path, chat_rows):
    out, cands = run(tmp_path, chat_rows, augmenters=[{"method": "back_translation"}])
    assert len(cands) == len(chat_rows)
    parents = {r["id"]: r for r in chat_rows}
    kept = [r for r in out.read_kept().to_pylist() if r["id"] not in parents]
    assert len(kept) >= 0.3 * len(chat_rows)
    for r in kept:
        p = parents[r["parent_id"]]
        assert r["response"] == p["response"] and r["prompt"] != p["prompt"] and r["group_id"] == p["group_id"]
        assert json.loads(r["operations"][-1]["params"])["edits"]["prompt"]["backend"] == "apertium"
    produced = [c for c in cands if c["id"] is not None]
    assert all(c["similarity"] is not None and c["length_ratio"] is not None for c in produced)
    for c in cands:
        if c["decision"] == "kept":
            assert 0.70 <= c["similarity"] <= 0.99 and 0.5 <= c["length_ratio"] <= 2.0
        elif c["decision"].startswith("gate:similarity"):
            assert not 0.70 <= c["similarity"] <= 0.99
    summary = {a.name: a for a in augment_summary(out.path, examples=2)}["back_translation"]
    assert summary.generated == len(cands) and summary.kept == len(kept) and summary.examples
    assert summary.examples[0]["before"] != summary.examples[0]["after"]


def test_a_tighter_band_rejects_more_and_says_why(tmp_path, chat_rows):
    _, loose = run(tmp_path / "a", chat_rows[:30], augmenters=[{"method": "back_translation"}])
    _, tight = run(tmp_path / "b", chat_rows[:30], augmenters=[{"method": "back_translation"}],
                   gates={"similarity": {"min": 0.95}})
    n_loose = sum(c["decision"] == "kept" for c in loose)
    n_tight = sum(c["decision"] == "kept" for c in tight)
    assert n_tight < n_loose
    assert any(c["decision"] == "gate:similarity_low" for c in tight)
    # Same candidates, same scores: the band only moves the decision.
    assert [c["similarity"] for c in loose] == [c["similarity"] for c in tight]


def test_protected_spans_survive_back_translation(tmp_path):
    rows = [record("instruction", prompt="Open https://example.com/a?b=1 and set {name} to 42 in `cfg.yaml` today.",
                   response="Done."),
            record("instruction", prompt="Send the report to ops@example.org before 17:30 on Friday, please.",
                   response="Will do.")]
    out, cands = run(tmp_path, rows, augmenters=[{"method": "back_translation"}],
                     gates={"similarity": {"enabled": False}})
    made = {c["parent_id"]: c for c in cands}
    kept = {r["parent_id"]: r for r in out.read_kept().to_pylist() if r["parent_id"]}
    for r in rows:
        if r["id"] in kept:
            new = kept[r["id"]]["prompt"]
            for span in ("https://example.com/a?b=1", "{name}", "42", "`cfg.yaml`", "ops@example.org", "17:30"):
                if span in r["prompt"]:
                    assert span in new, (span, new)
        else:
            assert made[r["id"]]["decision"] != "kept"


def test_word_augmenters_through_the_stage(tmp_path, chat_rows):
    out, cands = run(tmp_path, chat_rows[:40], augmenters=[
        {"method": "synonym"}, {"method": "random_insert"}, {"method": "random_delete", "params": {"aug_p": 0.2}},
        {"method": "random_swap"}], gates={"similarity": {"min": 0.5}})
    by = Counter((c["augmenter"], c["decision"] == "kept") for c in cands)
    for name in ("synonym", "random_insert", "random_delete", "random_swap"):
        assert by[(name, True)] > 0, (name, by)
        assert by[(name, True)] + by[(name, False)] == 40
    parents = {r["id"]: r for r in chat_rows}
    for r in out.read_kept().to_pylist():
        if r["parent_id"]:
            p = parents[r["parent_id"]]
            op = json.loads(r["operations"][-1]["params"])
            before, after = p["prompt"], r["prompt"]
            if op["augmenter"] == "random_delete":
                assert len(after.split()) < len(before.split())
            elif op["augmenter"] == "random_swap":
                words = [sorted(re.findall(r"\w+", t.lower())) for t in (after, before)]
                assert words[0] == words[1] and after != before  # punctuation stays where it was
            elif op["augmenter"] == "random_insert":
                assert len(after.split()) > len(before.split())
            else:
                assert op["edits"]["prompt"]["swaps"] >= 1
            assert r["response"] == p["response"]
