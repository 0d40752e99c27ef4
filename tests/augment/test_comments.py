"""Comments added to code records: from the prompt (at the head or above the block a sentence
names), from a real causal LM with provenance, and the gate that only comments changed."""

from __future__ import annotations

import json

from pipeline.augment.candidates import Candidate
from pipeline.augment.checks import score_code
from pipeline.augment.comments import AddCommentsAugmenter, CommentParams, comments_only, prompt_sentences
from pipeline.augment.config import AugmenterConfig, CodeGates
from tests.augment.test_augment_code import code, humaneval, run  # noqa: F401  (the fixture)

FUNC = '''def clean_scores(scores, limit):
    kept = [s for s in scores if s is not None]
    if len(kept) > limit:
        kept = sorted(kept)[:limit]
    return sum(kept) / max(len(kept), 1)
'''
PROMPT = ("Average the scores that are present. Scores above the limit count are sorted and cut to the "
          "limit first.\n\n>>> clean_scores([1, None, 3], 5)\n2.0\n")


def edit(params: CommentParams, source: str = FUNC, prompt: str = PROMPT):
    return AddCommentsAugmenter(params).augment_records([source], [prompt], [0])[0]


def test_sentences_leave_out_doctests_and_parameters():
    assert prompt_sentences(PROMPT, 5) == ["Average the scores that are present.",
                                           "Scores above the limit count are sorted and cut to the limit first."]
    assert prompt_sentences("def f(x):\n    '''Twice x, as an int.\n\n    >>> f(2)\n    4\n    '''\n", 3) == \
        ["Twice x, as an int."]


def test_prompt_sentences_go_above_the_block_they_name():
    out = edit(CommentParams(placement="blocks"))
    lines = out.text.splitlines()
    assert out.params["comments"] == 2 and out.params["source"] == "prompt"
    first = lines.index("    # Average the scores that are present.")
    cut = next(i for i, ln in enumerate(lines) if ln.startswith("    # Scores above the limit"))
    assert lines[first + 1].startswith("    kept = [s for s")
    assert lines[cut + 1].startswith("    if len(kept) > limit:")
    assert comments_only(FUNC, out.text)


def test_head_placement_and_the_docstring_stays_first():
    source = 'def f(x):\n    """Twice x."""\n    y = x * 2\n    return y\n'
    out = edit(CommentParams(placement="head"), source, "Twice the value given. Nothing else happens here.")
    assert out.text.splitlines()[1:4] == ['    """Twice x."""', "    # Twice the value given.",
                                           "    # Nothing else happens here."]


def test_gate_rejects_anything_but_comments(humaneval):  # noqa: F811
    parent = humaneval[0]
    spec = AugmenterConfig(method="add_comments")
    good = AddCommentsAugmenter().augment_records([parent["code"]], [parent["prompt"]], [0])[0]
    assert good.text is not None
    sneaky = good.text.replace("return", "return not", 1)  # a code change hidden among comments
    cands = [Candidate(parent, spec, 0, 0, ["code"], record={**parent, "code": t}) for t in (good.text, sneaky)]
    score_code(cands, CodeGates())
    assert cands[0].scores["alpha_equivalent"] is True and cands[0].scores["tests_passed"] is True
    assert cands[1].scores["alpha_equivalent"] is False
    assert not comments_only("x = 1\n", "x = 2  # one\n") and comments_only("x = 1\n", "# one\nx = 1  # one\n")


def test_in_the_stage_every_humaneval_record_is_commented_and_passes(tmp_path, humaneval):  # noqa: F811
    out, cands = run(tmp_path, humaneval, augmenters=[{"method": "add_comments"}])
    kept = [c for c in cands if c["decision"] == "kept"]
    assert len(kept) >= len(humaneval) - 2
    assert all(c["alpha_equivalent"] and c["tests_passed"] for c in kept)
    child = next(r for r in out.read_kept().to_pylist() if r["parent_id"])
    op = child["operations"][-1]
    assert op["op"] == "augment.add_comments" and "#" in child["code"]
    assert json.loads(op["params"])["edits"]["code"]["source"] == "prompt"


def test_model_comments_keep_their_provenance(humaneval):  # noqa: F811
    params = CommentParams(source="model", max_blocks=1, max_new_tokens=16)
    augmenter = AddCommentsAugmenter(params)
    rows = humaneval[:2]
    edits = augmenter.augment_records([r["code"] for r in rows], [r["prompt"] for r in rows], [0, 0])
    done = [(r, e) for r, e in zip(rows, edits) if e.text is not None]
    assert done, [e.reason for e in edits]
    for row, e in done:
        assert e.params["source"] == "model" and e.params["model"] == "smollm2"
        assert len(e.params["model_fingerprint"]) >= 16 and len(e.params["template_sha256"]) == 64
        assert comments_only(row["prompt"] + row["code"], row["prompt"] + e.text)
        assert e.text.count("#") > row["code"].count("#")
