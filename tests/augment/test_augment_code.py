"""The augment stage on code: lineage, the parse / alpha-equivalence / tests gates, accounting."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from pipeline.augment.candidates import Candidate
from pipeline.augment.checks import score_code
from pipeline.augment.code_ops import AddDocstringAugmenter, RemoveCommentsAugmenter, RenameAugmenter
from pipeline.augment.config import AugmentConfig, AugmenterConfig, CodeGates
from pipeline.demo.data import data_home, humaneval_jsonl, prepare_humaneval
from tests.augment.helpers import run_augment
from tests.split.builders import record

FUNC = '''def mean_of(values):
    # running total
    total = 0
    for v in values:  # every value
        total += v
    return total / len(values)
'''


def code(prompt: str, src: str, **meta) -> dict:
    return record("code", prompt=prompt, code=src, language="python", meta=json.dumps(meta) if meta else None)


@pytest.fixture(scope="module")
def humaneval() -> list[dict]:
    path = humaneval_jsonl(data_home())
    if not path.is_file():
        prepare_humaneval(data_home())
    problems = [json.loads(line) for line in path.read_text().splitlines()][:12]
    return [code(p["prompt"], p["canonical_solution"], test=p["test"], entry_point=p["entry_point"])
            for p in problems]


def run(tmp: Path, rows: list[dict], **config) -> tuple:
    out, cands, _ = run_augment(tmp, rows, batch_size=5, **config)
    return out, cands


def test_code_augmenters_keep_lineage_and_every_input(tmp_path):
    rows = [code("Mean of a list.", FUNC), code("Sum.", "def s(xs):\n    return sum(xs)\n")]
    out, cands = run(tmp_path, rows, augmenters=[{"method": "rename_identifiers", "copies": 2},
                                                 {"method": "remove_comments"}, {"method": "add_docstring"}])
    kept = out.read_kept().to_pylist()
    parents = {r["id"]: r for r in rows}
    assert {r["id"] for r in kept} >= set(parents)
    children = [r for r in kept if r["id"] not in parents]
    assert children and all(r["parent_id"] in parents for r in children)
    for child in children:
        parent = parents[child["parent_id"]]
        assert child["group_id"] == parent["group_id"] and child["prompt"] == parent["prompt"]
        op = child["operations"][-1]
        assert op["stage"] == "augment" and op["op"].startswith("augment.")
        assert "seed" in json.loads(op["params"])
    decisions = Counter((c["method"], c["decision"]) for c in cands)
    # The one-line function has no locals to rename and no comments: rejected with the reason.
    assert decisions[("rename_identifiers", "augment_failed:no_renamable_names")] == 2
    assert decisions[("remove_comments", "augment_failed:no_comments")] == 1
    assert decisions[("add_docstring", "kept")] == 2
    with_doc = [r for r in children if json.loads(r["operations"][-1]["params"])["augmenter"] == "add_docstring"]
    assert all('"""' in r["code"] for r in with_doc)
    # Two rename copies of FUNC use different seeds: two different records (or a sibling copy rejected).
    renamed = [c for c in cands if c["method"] == "rename_identifiers" and c["decision"] == "kept"]
    assert renamed and all(c["alpha_equivalent"] and c["parses"] for c in renamed)


def test_humaneval_renames_still_pass_their_tests(tmp_path, humaneval):
    out, cands = run(tmp_path, humaneval, augmenters=[{"method": "rename_identifiers"}])
    tested = [c for c in cands if c["tests_passed"] is not None]
    assert len(tested) >= 8  # most canonical solutions have locals
    assert all(c["tests_passed"] for c in tested)
    assert all(c["decision"] == "kept" for c in tested)
    assert out.manifest["counters"]["code:tests_run"] == len(tested)


class _BreakConstant(RenameAugmenter):
    """A wrong augmenter: renames, then changes a literal, so the meaning changes."""

    def edit(self, source, seed, prompt):
        new, params = super().edit(source, seed, prompt)
        return re.sub(r"(?<![\w.])0(?![\w.])", "1", new, count=1), params  # the literal 0, not x0


def test_gates_catch_a_meaning_change(humaneval):
    spec = AugmenterConfig(method="rename_identifiers")
    # Problems whose solution has locals to rename and a "0" the broken augmenter can reach
    # (one in the prompt's docstring would change the prompt: that candidate fails earlier).
    def edits(r):
        return [a.augment_records([r["code"]], [r["prompt"]], [3])[0].text for a in (RenameAugmenter(), _BreakConstant())]

    parents = [r for r in humaneval if None not in (e := edits(r)) and e[0] != e[1]]
    assert len(parents) >= 3
    caught_by_tests = 0
    for parent in parents:
        good = RenameAugmenter().augment_records([parent["code"]], [parent["prompt"]], [3])[0]
        bad = _BreakConstant().augment_records([parent["code"]], [parent["prompt"]], [3])[0]
        ok = Candidate(parent, spec, 0, 3, ["code"], record={**parent, "code": good.text})
        wrong = Candidate(parent, spec, 0, 3, ["code"], record={**parent, "code": bad.text})
        score_code([ok, wrong], CodeGates())
        assert ok.scores["alpha_equivalent"] is True and ok.scores["tests_passed"] is True
        assert wrong.scores["alpha_equivalent"] is False and "tests_passed" not in wrong.scores
        # Without the alpha gate the record's own tests judge the change.
        unchecked = Candidate(parent, spec, 0, 3, ["code"], record={**parent, "code": bad.text})
        score_code([unchecked], CodeGates(alpha_equivalent=False))
        caught_by_tests += unchecked.scores["tests_passed"] is False
    assert caught_by_tests >= 1


def test_unparsable_code_is_a_rejected_candidate_not_an_error(tmp_path):
    rows = [code("Broken.", "def f(:\n    return 1\n"), code("Mean.", FUNC)]
    out, cands = run(tmp_path, rows, augmenters=[{"method": "rename_identifiers"}])
    assert Counter(c["decision"] for c in cands)["augment_failed:unparsable"] == 1
    assert out.counts["rejected_by_reason"]["augment_failed:unparsable"] == 1


def test_rerun_reuses_the_stored_output(tmp_path):
    rows = [code("Mean of a list.", FUNC)]
    first, _ = run(tmp_path, rows, augmenters=[{"method": "remove_comments"}])
    second, _ = run(tmp_path, rows, augmenters=[{"method": "remove_comments"}])
    assert second.reused and second.path == first.path


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="kinds must be \\[code\\]"):
        AugmenterConfig(method="rename_identifiers", kinds=["instruction"])
    with pytest.raises(ValueError, match="cannot change"):
        AugmenterConfig(method="remove_comments", fields={"code": ["prompt"]})
    with pytest.raises(ValueError, match="no augmenters"):
        AugmentConfig(enabled=True)
    with pytest.raises(ValueError, match="rename_parameter\n  Extra inputs"):
        AugmenterConfig(method="rename_identifiers", params={"rename_parameter": True})


def test_docstring_and_comment_edits_direct():
    e = RemoveCommentsAugmenter().augment([FUNC], [0])[0]
    assert "#" not in e.text and e.params["comments_removed"] == 2
    e = AddDocstringAugmenter().augment_records([FUNC], ['Mean of "values" \\ done.'], [0])[0]
    ns: dict = {}
    exec(e.text, ns)
    assert ns["mean_of"].__doc__ == 'Mean of "values" \\ done.' and ns["mean_of"]([1, 2, 3]) == 2
