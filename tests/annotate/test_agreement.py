"""Agreement statistics against worked examples, and the merge rules for several annotations."""

from __future__ import annotations

import pytest

from pipeline.annotate.agreement import (
    Decision,
    Vote,
    agreement_summary,
    annotator_agreement,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    merge,
)


def vote(annotator: str, verdict: str | None, minute: int = 0, **value) -> Vote:
    return Vote(annotator, verdict, value, f"2026-01-01T10:{minute:02d}:00Z")


# --- statistics -------------------------------------------------------------------------------

def test_cohen_kappa_hand_computed():
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o = 0.7,
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = (0.7 - 0.5) / 0.5 = 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(b, a) == pytest.approx(0.4)


def test_cohen_kappa_edge_cases():
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["x", "x"], ["x", "x"]) == 1.0  # chance agreement 1: documented convention
    assert cohen_kappa(["x", "y"], ["y", "x"]) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        cohen_kappa(["x"], ["x", "y"])


def test_fleiss_kappa_wikipedia_example():
    # https://en.wikipedia.org/wiki/Fleiss%27_kappa#Worked_example: 10 subjects, 14 raters, 5 categories
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    units = [[f"c{j}" for j, count in enumerate(row) for _ in range(count)] for row in table]
    assert fleiss_kappa(units) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_needs_equal_ratings_per_unit():
    assert fleiss_kappa([]) is None
    assert fleiss_kappa([["a", "a"], ["a", "a"]]) == 1.0
    with pytest.raises(ValueError):
        fleiss_kappa([["a", "b"], ["a", "b", "a"]])
    with pytest.raises(ValueError):
        fleiss_kappa([["a"], ["b"]])


def test_krippendorff_alpha_nominal_example_from_krippendorff_2011():
    # "Computing Krippendorff's Alpha-Reliability" (2011), example C: 4 observers, 12 units,
    # missing values ("."); nominal alpha = 0.743. Unit 12 has one value and is not pairable.
    rows = ["1 2 3 3 2 1 4 1 2 . . .",
            "1 2 3 3 2 2 4 1 2 5 . 3",
            ". 3 3 3 2 3 4 2 2 5 1 .",
            "1 2 3 3 2 4 4 1 2 5 1 ."]
    cells = [r.split() for r in rows]
    units = {f"u{u}": [c[u] for c in cells if c[u] != "."] for u in range(12)}
    assert krippendorff_alpha(units) == pytest.approx(0.743, abs=5e-4)
    # missing values may also be given as None
    with_none = {u: [c[i] if c[i] != "." else None for c in cells] for i, u in enumerate(units)}
    assert krippendorff_alpha(with_none) == pytest.approx(krippendorff_alpha(units))


def test_krippendorff_alpha_edge_cases():
    assert krippendorff_alpha({}) is None
    assert krippendorff_alpha({"t1": ["a"], "t2": ["b"]}) is None  # nothing pairable
    assert krippendorff_alpha({"t1": ["a", "a"], "t2": ["a", "a", "a"], "t3": ["b"]}) == 1.0
    assert krippendorff_alpha({"t1": ["a", "b"], "t2": ["b", "a"]}) < 0


# --- merge ------------------------------------------------------------------------------------

def test_majority_two_of_three_is_accepted_with_the_latest_winners_value():
    votes = [vote("a", "spam", 1, label="spam"), vote("b", "ham", 5, label="ham"),
             vote("c", "spam", 3, label="spam")]
    d = merge(votes, "majority")
    assert (d.status, d.verdict, d.value, d.n_votes) == ("accepted", "spam", {"label": "spam"}, 3)
    assert d.agreement == pytest.approx(1 / 3)  # one agreeing pair of three


def test_a_tie_is_unclear():
    d = merge([vote("a", "spam"), vote("b", "ham")], "majority")
    assert (d.status, d.verdict, d.value, d.agreement) == ("unclear", None, None, 0.0)
    assert "spam" in d.reason and "ham" in d.reason


def test_unanimity_with_one_dissent_is_unclear_and_without_is_accepted():
    votes = [vote("a", "ok", rating=4), vote("b", "ok", rating=5), vote("c", "problems:wrong", rating=2)]
    assert merge(votes, "unanimity").status == "unclear"
    assert merge(votes, "majority").status == "accepted"
    d = merge(votes[:2], "unanimity")
    assert (d.status, d.verdict, d.agreement) == ("accepted", "ok", 1.0)


def test_pending_below_min_annotators_and_empty_votes_do_not_count():
    votes = [vote("a", "spam"), vote("b", None)]
    d = merge(votes, "majority", min_annotators=3)
    assert (d.status, d.n_votes, d.agreement) == ("pending", 1, None)
    assert "2 more" in d.reason
    assert merge([], "majority").status == "pending"
    with pytest.raises(ValueError):
        merge(votes, "plurality")  # type: ignore[arg-type]


def test_the_latest_rewrite_wins_whole():
    votes = [vote("a", "rewrite", 9, rating=1, problems=["wrong"], rewrite="late"),
             vote("b", "rewrite", 2, rating=5, problems=[], rewrite="early"),
             vote("c", "ok", 20, rating=4, problems=[], rewrite=None)]
    d = merge(votes, "majority")
    assert (d.verdict, d.value) == ("rewrite", {"rating": 1, "problems": ["wrong"], "rewrite": "late"})


def test_timestamps_compare_as_times_not_strings():
    # "Z" and "+00:00" spellings, and an offset: as strings "+02:00" 11:30 would sort last
    votes = [Vote("a", "rewrite", {"rewrite": "first"}, "2026-01-01T11:30:00+02:00"),
             Vote("b", "rewrite", {"rewrite": "second"}, "2026-01-01T10:00:00Z")]
    assert merge(votes, "unanimity").value == {"rewrite": "second"}


def test_accepted_rating_is_the_median_of_the_winners_rounded_down():
    votes = [vote("a", "ok", 1, rating=3, problems=[], rewrite=None),
             vote("b", "ok", 2, rating=4, problems=[], rewrite=None),
             vote("c", "problems:wrong", 3, rating=1, problems=["wrong"], rewrite=None),
             vote("d", "ok", 4, rating=5, problems=[], rewrite=None),
             vote("e", "ok", 5, rating=None, problems=[], rewrite=None)]
    d = merge(votes, "majority")
    assert d.value == {"rating": 4, "problems": [], "rewrite": None}  # median(3, 4, 5), c excluded
    d = merge(votes[:2], "unanimity")
    assert d.value["rating"] == 3  # median(3, 4) = 3.5 -> 3


def test_one_annotator_counts_once_with_their_latest_vote():
    votes = [vote("a", "spam", 1), vote("a", "ham", 7), vote("b", "spam", 3)]
    d = merge(votes, "majority")
    assert (d.status, d.n_votes) == ("unclear", 2)


# --- agreement per annotator and overall ------------------------------------------------------

@pytest.fixture
def worked_case() -> dict[str, tuple[Decision, list[Vote]]]:
    tasks = {
        "t1": [vote("a", "x"), vote("b", "x"), vote("c", "y")],  # accepted x
        "t2": [vote("a", "y"), vote("b", "y")],                  # accepted y
        "t3": [vote("a", "x"), vote("c", "y")],                  # unclear (tie)
        "t4": [vote("a", "x"), vote("b", "y"), vote("c", "y")],  # accepted y
        "t5": [vote("b", "x"), vote("c", None)],                 # accepted x, c's vote is empty
    }
    return {t: (merge(v, "majority"), v) for t, v in tasks.items()}


def test_annotator_agreement_hand_worked(worked_case):
    r = annotator_agreement(worked_case)
    assert sorted(r) == ["a", "b", "c"]
    # a on accepted t1, t2, t4: [x, y, x] vs [x, y, y]: p_o = 2/3, p_e = (2*1 + 1*2)/9 = 4/9,
    # kappa = (2/9) / (5/9) = 0.4
    assert (r["a"]["n_tasks"], r["a"]["n_agree_with_result"]) == (4, 2)
    assert r["a"]["agreement_with_result"] == pytest.approx(2 / 3)
    assert r["a"]["kappa_with_result"] == pytest.approx(0.4)
    assert (r["b"]["n_tasks"], r["b"]["n_agree_with_result"], r["b"]["kappa_with_result"]) == (4, 4, 1.0)
    # c on accepted t1, t4: [y, y] vs [x, y]: p_o = 1/2 = p_e, kappa 0
    assert (r["c"]["n_tasks"], r["c"]["n_agree_with_result"]) == (3, 1)
    assert r["c"]["agreement_with_result"] == 0.5
    assert r["c"]["kappa_with_result"] == pytest.approx(0.0)
    assert r["a"]["pairwise"]["b"] == pytest.approx({"n": 3, "agreement": 2 / 3, "kappa": 0.4})
    assert r["b"]["pairwise"]["a"] == r["a"]["pairwise"]["b"]
    assert r["a"]["pairwise"]["c"] == {"n": 3, "agreement": 0.0, "kappa": 0.0}
    assert r["b"]["pairwise"]["c"] == pytest.approx({"n": 2, "agreement": 0.5, "kappa": 0.0})


def test_agreement_summary_hand_worked(worked_case):
    s = agreement_summary(worked_case)
    assert s["n_tasks"] == 5
    assert s["by_status"] == {"accepted": 4, "unclear": 1, "pending": 0}
    # task agreements 1/3, 1, 0, 1/3 (t5 has one vote)
    assert s["mean_agreement"] == pytest.approx(5 / 12)
    # coincidences: o_xx = 1, o_xy = o_yx = 3, o_yy = 3; n_x = 4, n_y = 6, n = 10
    # alpha = 1 - (n - 1) * 6 / (n^2 - 4^2 - 6^2) = 1 - 54 / 48
    assert s["alpha"] == pytest.approx(-0.125)
