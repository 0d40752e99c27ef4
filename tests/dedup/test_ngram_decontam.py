"""N-gram decontamination: partial copies of benchmark records inside longer records.

A record that quotes 50 words of a benchmark passage inside its own answer, or a short benchmark
question inside a longer prompt, is rejected naming the benchmark, its record and the span; a
record that shares fewer than n words in a row with it is kept. Whole-record levels (exact) miss
all of these: they are parts of their records.
"""

from __future__ import annotations

import json

from pipeline.config import parse_config
from pipeline.runner import run_pipeline

PASSAGE = ("The committee reviewed the annual budget in great detail and concluded that spending on "
           "infrastructure should rise by twelve percent over the next three years, while administrative "
           "costs must fall by at least five percent, because the roads and bridges of the northern "
           "districts have been neglected for a decade and the public has lost patience with delays "
           "that the council promised to end before the last election")
QUESTION = "Which planet in our solar system has the largest number of known moons?"


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_partial_copies_are_found_with_their_span(tmp_path):
    words = PASSAGE.split()
    bench = _write(tmp_path / "bench.jsonl", [
        {"question": "Summarise the committee's decision.", "answer": PASSAGE},
        {"question": QUESTION, "answer": "Saturn."},
    ])
    copied = " ".join(words[5:57])  # 52 words of the benchmark answer, inside a longer response
    rows = [
        {"prompt": "Tell me about city finances.", "response": f"Sure. In short, {copied}. I hope that helps you."},
        {"prompt": f"Quiz time! {QUESTION} Think carefully before you answer.", "response": "Probably Saturn."},
        {"prompt": "Tell me about budgets.", "response": " ".join(words[:12]) + " and then nothing else happened."},
        {"prompt": "What is a haiku?", "response": "A short Japanese poem of three lines."},
    ]
    data = _write(tmp_path / "train.jsonl", rows)
    cfg = parse_config({
        "run": {"out_dir": str(tmp_path / "out"), "workers": 1},
        "sources": [{"name": "train", "kind": "instruction", "format": "jsonl", "path": str(data)}],
        "dedup": {"near": {"enabled": False}, "semantic": {"enabled": False},
                  "reference_sets": [{"name": "quiz", "kind": "instruction", "path": str(bench),
                                      "fields": {"prompt": "question", "response": "answer"}}]},
    })
    ctx = run_pipeline(cfg, until="dedup")
    assert ctx.outputs["dedup_exact"].counts["rejected"] == 0  # no whole-record copy
    out = ctx.outputs["decontam_ngram"]
    assert out.counts["in"] == out.counts["kept"] + out.counts["rejected"] == 4
    kept = [r["prompt"] for r in out.read_kept().to_pylist()]
    assert kept == [rows[2]["prompt"], rows[3]["prompt"]]  # 12 shared words < 13: not a copy
    rejected = {json.loads(r["record"])["prompt"]: r for r in out.read_rejected().to_pylist()}
    passage = rejected[rows[0]["prompt"]]
    assert passage["reason"] == "ngram_contamination"
    assert "found in reference set 'quiz'" in passage["detail"] and "words 3-55 of response" in passage["detail"]
    assert "the committee" not in passage["detail"].split('"')[1][:20]
    assert passage["detail"].split('"')[1].startswith(" ".join(words[5:10]).lower())
    question = rejected[rows[1]["prompt"]]
    assert "of prompt found in reference set 'quiz'" in question["detail"]
    assert "which planet in our solar system has the largest number of known moons" in question["detail"]
    assert question["duplicate_of"] and question["duplicate_of"] != passage["duplicate_of"]
    assert out.manifest["counters"]["contaminated:quiz"] == 2
    assert out.manifest["counters"]["reference_ngrams"] > 40


def test_index_lengths_and_short_references():
    from pipeline.similarity.ngrams import NgramIndex

    short = "How many moons does Saturn have today?"  # 7 words: one gram of 7 words
    index = NgramIndex(n=13, min_words=6).build([["one two three", short, PASSAGE]])
    assert index.too_short == 1 and index.lengths == [13, 7]
    (m,) = index.scan([f"so, {short.upper()} ok"])
    assert (m.start, m.end, m.grams, m.windows, m.ref_record) == (1, 8, 1, 1, 1)
    assert index.scan(["one two three four"]) == [None]
