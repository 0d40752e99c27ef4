"""Instruction and code records through a real Label Studio server: projects from their schemas,
a rewritten response, an unsafe flag, a code rewrite and an incorrect verdict, applied as the
next data version with lineage and reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.annotate.client import SdkClient
from pipeline.annotate.label_configs import annotation_result


@pytest.fixture(scope="module")
def server(label_studio_server):
    return label_studio_server


def write_sources(d: Path) -> None:
    qa = [{"q": f"How do I reverse a list of {n} items in Python?",
           "a": f"Use items[::-1] for a reversed copy of the {n} items, or items.reverse() to reverse in place."}
          for n in range(6)]
    (d / "qa.jsonl").write_text("\n".join(json.dumps(r) for r in qa) + "\n")
    code = [{"prompt": f"Return the sum of the first {n} squares.",
             "code": f"def squares_{n}():\n    total = 0\n    for i in range({n}):\n        total += i * i\n"
                     f"    return total\n"} for n in range(2, 6)]
    (d / "code.jsonl").write_text("\n".join(json.dumps(dict(r, language="python")) for r in code) + "\n")


def config_dict(d: Path) -> dict:
    return {
        "run": {"name": "kinds", "out_dir": str(d / "out"), "workers": 1},
        "sources": [{"name": "qa", "kind": "instruction", "format": "jsonl", "path": str(d / "qa.jsonl"),
                     "fields": {"prompt": "q", "response": "a"}},
                    {"name": "funcs", "kind": "code", "format": "jsonl", "path": str(d / "code.jsonl")}],
        "dedup": {"near": {"enabled": False}, "semantic": {"enabled": False}},
        "annotate": {"enabled": True, "project": "kinds test", "kinds": ["instruction", "code"],
                     "select": {"strategies": [{"name": "random", "budget": 10}]}},
    }


def test_rewrites_flags_and_verdicts_become_the_next_data_version(server, tmp_path):
    from pipeline.annotate.sync import pull_all
    from pipeline.workflows.review import push_for_review
    from pipeline.config import parse_config
    from pipeline.runner import run_pipeline

    write_sources(tmp_path)
    cfg = parse_config(config_dict(tmp_path))
    client = SdkClient(server.url, server.token)
    pushed = push_for_review(cfg, client)
    assert {k: m["counts"]["imported"] for k, m in pushed.items()} == {"instruction": 6, "code": 4}
    assert pushed["instruction"]["selection"]["strategies_skipped_for_missing_input"] == []  # random needs nothing

    by_kind = {k: client.task_index(m["project"]["id"]) for k, m in pushed.items()}
    me = client.check()["id"]
    (rewrite, unsafe, fine, *_), (fix, wrong, *_) = sorted(by_kind["instruction"]), sorted(by_kind["code"])

    def annotate(kind: str, rid: str, **values) -> None:
        client.sdk.annotations.create(id=by_kind[kind][rid][0], result=annotation_result(kind, **values),
                                      completed_by=me)

    annotate("instruction", rewrite, rating=2, problems=["unhelpful"], rewrite="Call list(reversed(items)).")
    annotate("instruction", unsafe, rating=1, problems=["unsafe"])
    annotate("instruction", fine, rating=5)
    annotate("code", fix, correct=False, rewrite="def fixed():\n    return sum(i * i for i in range(3))\n")
    annotate("code", wrong, correct=False)
    pulled = pull_all(client, cfg.annotate, cfg.run.out_dir)
    assert {k: s["new"] for k, s in pulled.items()} == {"instruction": 3, "code": 2}

    ctx = run_pipeline(cfg, until="annotate")
    out = ctx.output("annotate")
    c = out.counts
    assert c["in"] + c["generated"] == c["kept"] + c["rejected"] and c["generated"] == 2
    assert c["rejected_by_reason"] == {"annotation_override": 2, "annotation_problem:unsafe": 1,
                                       "annotation_problem:incorrect": 1}
    kept = {r["id"]: r for r in out.read_kept().to_pylist()}
    new_answer = next(r for r in kept.values() if r["parent_id"] == rewrite)
    assert new_answer["response"] == "Call list(reversed(items))." and new_answer["operations"][-1]["op"] == "annotate.rewrite"
    new_code = next(r for r in kept.values() if r["parent_id"] == fix)
    assert new_code["code"].startswith("def fixed()") and new_code["group_id"] == kept.get(new_code["id"])["group_id"]
    assert fine in kept and kept[fine]["operations"][-1]["op"] == "annotate.confirm"
    assert unsafe not in kept and wrong not in kept and rewrite not in kept and fix not in kept
