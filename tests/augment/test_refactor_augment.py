"""The refactor augmenter in the augment stage: lineage, refusals as reject reasons, the equivalence
and test gates (a deliberately wrong rewrite is caught by both), and CPython suites on
refactored standard-library modules."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter

import libcst as cst
import pytest

from pipeline.augment.candidates import Candidate
from pipeline.augment.checks import score_code
from pipeline.augment.config import AugmenterConfig, CodeGates, GatesConfig
from pipeline.augment.gates import decide
from pipeline.augment.refactor.base import run_rewrite
from pipeline.augment.refactor.conditionals import GuardClause, _else_statements
from pipeline.augment.refactor.params import REWRITE_NAMES
from pipeline.augment.refactor.proof import has_suite, run_suite
from pipeline.augment.refactor.registry import REWRITES
from tests.augment.test_augment_code import code, humaneval, run  # noqa: F401  (the fixture)

SIGN = '''def sign(x):
    """1, -1 or 0 by the sign of x."""
    if x > 0:
        return 1
    else:
        if x < 0:
            return -1
        return 0
'''
SIGN_TEST = "def check(candidate):\n    assert candidate(5) == 1\n    assert candidate(-3) == -1\n    assert candidate(0) == 0\n"


def test_refactor_in_the_stage_keeps_lineage_and_accounts_for_every_copy(tmp_path, humaneval):  # noqa: F811
    rows = [*humaneval, code("Sign of x.", SIGN, test=SIGN_TEST, entry_point="sign")]
    out, cands = run(tmp_path, rows, augmenters=[{"method": "refactor", "copies": 3}])
    parents = {r["id"]: r for r in rows}
    children = [r for r in out.read_kept().to_pylist() if r["id"] not in parents]
    assert len(children) >= 5
    for child in children:
        op = child["operations"][-1]
        assert op["op"] == "augment.refactor" and child["parent_id"] in parents
        edit = json.loads(op["params"])["edits"]["code"]
        assert edit["rewrite"] in REWRITE_NAMES and edit["lines"]
        assert child["group_id"] == parents[child["parent_id"]]["group_id"]
    kept = [c for c in cands if c["decision"] == "kept"]
    assert kept and all(c["equivalent"] and c["tests_passed"] for c in kept)
    reasons = Counter(c["decision"] for c in cands if c["decision"] != "kept")
    # A copy no rewrite could prove is a reject with its reason, never dropped.
    assert all(r.startswith(("augment_failed:refused:", "augment_failed:no_site", "gate:")) for r in reasons)
    assert len({json.loads(c["augment_params"])["code"]["rewrite"] for c in kept}) >= 3


class _DropElse(GuardClause):
    """A wrong rewrite: claims to be guard_clause, but drops the else instead of dedenting it."""

    def rewrite_body(self, original, updated):
        out = super().rewrite_body(original, updated)
        if any(isinstance(o, cst.If) and o.orelse is not None for o in original):
            kept = [s for s in out if not any(s is e for o in updated if isinstance(o, cst.If) and o.orelse
                                              for e in _else_statements(o.orelse))]
            return kept
        return out


def _candidate(parent: dict, new_code: str) -> Candidate:
    spec = AugmenterConfig(method="refactor")
    params = {"code": {"rewrite": "guard_clause", "lines": [3]}}
    return Candidate(parent, spec, 0, 0, ["code"], record={**parent, "code": new_code},
                     scores={"augment_params": json.dumps(params)})


def test_a_wrong_rewrite_is_rejected_by_the_gate_and_by_the_tests():
    parent = code("Sign of x.", SIGN, test=SIGN_TEST, entry_point="sign")
    right = run_rewrite(SIGN, GuardClause).source
    wrong = run_rewrite(SIGN, _DropElse).source
    assert "return 0" in right and "return 0" not in wrong
    ok, bad = _candidate(parent, right), _candidate(parent, wrong)
    score_code([ok, bad], CodeGates())
    assert ok.scores["equivalent"] is True and ok.scores["tests_passed"] is True
    assert decide(ok, GatesConfig()) == "kept"
    assert bad.scores["equivalent"] is False and "tests_passed" not in bad.scores
    assert decide(bad, GatesConfig()) == "gate:not_equivalent"
    # With the equivalence gate off, the record's own tests judge it.
    unchecked = _candidate(parent, wrong)
    score_code([unchecked], CodeGates(equivalent=False))
    assert unchecked.scores["tests_passed"] is False
    assert decide(unchecked, GatesConfig()) == "gate:tests_failed"


def _stdlib(name: str) -> str:
    with open(importlib.util.find_spec(name).origin, encoding="utf-8") as f:
        return f.read()


def _composed(source: str) -> tuple[str, Counter]:
    applied: Counter = Counter()
    for name in REWRITE_NAMES:
        result = run_rewrite(source, REWRITES[name])
        applied[name] += len(result.applied)
        source = result.source
    return source, applied


@pytest.mark.parametrize("module", ["textwrap", "shlex", "heapq"])
def test_refactored_stdlib_module_passes_its_cpython_suite(module):
    assert has_suite(module), f"no test.test_{module} in this interpreter: run scripts/setup.sh (it installs them)"
    source = _stdlib(module)
    refactored, applied = _composed(source)
    assert sum(applied.values()) >= 3 and refactored != source
    outcome = run_suite(module, refactored)
    assert outcome.passed and outcome.ran >= 10, outcome
    # The suite runs against the file given: a copy that cannot be imported fails it.
    assert not run_suite(module, refactored + "\nraise ImportError('a broken copy')\n").passed


SUITE_MODULES = ["textwrap", "colorsys", "heapq", "bisect", "shlex", "base64", "fnmatch", "getopt", "quopri",
                 "graphlib", "string", "difflib", "fractions", "statistics", "calendar"]


@pytest.mark.slow
@pytest.mark.parametrize("module", SUITE_MODULES)
def test_every_rewrite_on_stdlib_modules_passes_their_suites(module):
    assert has_suite(module), f"no test.test_{module} in this interpreter: run scripts/setup.sh (it installs them)"
    source = _stdlib(module)
    for name in REWRITE_NAMES:
        result = run_rewrite(source, REWRITES[name])
        if result.applied:
            outcome = run_suite(module, result.source)
            assert outcome.passed, (name, outcome)
