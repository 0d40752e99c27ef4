"""The refactoring rewrites one by one: what each rewrites, what it refuses and why, that the
rewritten code runs the same, that comments elsewhere survive, and that each inverse undoes it."""

from __future__ import annotations

import textwrap

import pytest

from pipeline.augment.alpha import alpha_equivalent
from pipeline.augment.refactor.base import run_rewrite
from pipeline.augment.refactor.params import REWRITE_NAMES, RefactorParams
from pipeline.augment.refactor.registry import REWRITES, equivalent, undo


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def run(name: str, source: str, **kw):
    return run_rewrite(src(source), REWRITES[name], **kw)


def behaves_the_same(before: str, after: str, calls: list[tuple]) -> None:
    """Exec both versions; `f(*args)` returns the same value (or raises the same type) for every call."""
    def outcome(code: str, args: tuple):
        scope: dict = {}
        exec(compile(code, "<refactored>", "exec"), scope)
        try:
            return ("ok", scope["f"](*args))
        except Exception as exc:  # the same exception type is the same behaviour
            return ("error", type(exc).__name__)

    for args in calls:
        assert outcome(before, args) == outcome(after, args), args


# (rewrite, source, a line the rewritten source must hold, calls of f to compare)
APPLIES = [
    ("loop_to_comprehension", """
        def f(xs):
            out = []  # the result
            for v in xs:
                if v % 2:
                    out.append(v * 10)
            return out
        """, "    out = [v * 10 for v in xs if v % 2]  # the result", [([1, 2, 3],), ([],)]),
    ("loop_to_comprehension", """
        def f(xs):
            seen = {}
            for k in xs:
                seen[k] = len(k)
            return seen
        """, "    seen = {k: len(k) for k in xs}", [(["a", "bb", "a"],), ([],)]),
    ("loop_to_comprehension", """
        def f(xs):
            s = set()
            for v in xs:
                s.add(v % 3)
            return s
        """, "    s = {v % 3 for v in xs}", [([1, 2, 3, 4],)]),
    ("comprehension_to_loop", """
        def f(xs):
            return g(xs)

        def g(xs):
            ys = [x + 1 for x in xs if x > 0]
            return ys
        """, "            ys.append(x + 1)", [([1, -2, 3],)]),
    ("if_to_conditional", """
        def f(n):
            if n > 2:
                label = "big"
            else:
                label = "small"
            return label
        """, '    label = "big" if n > 2 else "small"', [(1,), (5,)]),
    ("if_to_conditional", """
        def f(state, slots):
            if slots:
                state = state, slots
            else:
                state = state or None
            return state
        """, "    state = (state, slots) if slots else state or None", [(1, 2), (0, 0), (3, None)]),
    ("conditional_to_if", """
        def f(n):
            label = "big" if n > 2 else "small"  # size
            return label
        """, "    if n > 2:  # size", [(1,), (5,)]),
    ("guard_clause", """
        def f(xs):
            if not xs:
                return None
            else:
                total = sum(xs)
                return total / len(xs)
        """, "    total = sum(xs)", [([],), ([1, 2],)]),
    ("nested_if", """
        def f(xs):
            if not xs:
                return None
            total = sum(xs)
            return total / len(xs)
        """, "    else:", [([],), ([1, 2],)]),
    ("augmented_assignment", """
        def f(n):
            total = 0
            for i in range(n):
                total = total + i * 2
            return total
        """, "        total += i * 2", [(4,), (0,)]),
    ("expanded_assignment", """
        def f(n):
            text = ""
            for i in range(n):
                text += str(i)
            return text
        """, "        text = text + str(i)", [(4,)]),
    ("negated_operator", """
        def f(x, xs):
            return not x in xs, not x is None
        """, "    return x not in xs, x is not None", [(1, [1]), (None, [])]),
    ("negation", """
        def f(x, xs):
            return x not in xs
        """, "    return not (x in xs)", [(1, [1]), (2, [1])]),
    ("len_to_truth", """
        def f(words: list[str]):
            if len(words) == 0:
                return "none"
            return words[0]
        """, "    if not words:", [([],), (["a"],)]),
    ("truth_to_len", """
        def f(text: str):
            return not text
        """, "    return len(text) == 0", [("",), ("a",)]),
    ("format_to_fstring", """
        def f(name, n):
            return "{} has {!r:>5}".format(name, n)
        """, '    return f"{name} has {n!r:>5}"', [("a", 3), ("bob", "x")]),
    ("fstring_to_format", """
        def f(name, n):
            return f"{name}: {n:.2f} {{literal}}"
        """, '    return "{}: {:.2f} {{literal}}".format(name, n)', [("a", 3.14159)]),
    ("percent_to_format", """
        def f(name, n):
            return "%s has %-4r {braces} 100%%" % (name, n)
        """, '    return "{!s} has {!r:<4} {{braces}} 100%".format(name, n)', [("a", 3), (1.5, [1])]),
    ("format_to_percent", """
        def f(name, n):
            return "{!s} has {!r:>4} 100%".format(name, n + 1)
        """, '    return "%s has %4r 100%%" % (name, n + 1)', [("a", 3)]),
    ("extract_subexpression", """
        def f(xs: list[int], n: int):
            if n:
                return len(xs) * len(xs) - n
            return 0
        """, "        xs_len = len(xs)", [([1, 2], 1), ([], 0), ([3], 5)]),
    ("inline_variable", """
        def f(xs: list[int]):
            size = len(xs) + 1
            return size * size
        """, "    return (len(xs) + 1) * (len(xs) + 1)", [([1, 2],), ([],)]),
]


@pytest.mark.parametrize("name,source,expected,calls", APPLIES, ids=[a[0] for a in APPLIES])
def test_rewrite_applies_runs_the_same_and_is_undone(name, source, expected, calls):
    result = run(name, source)
    assert result.applied and not result.refused, result
    assert expected in result.source.splitlines(), result.source
    behaves_the_same(src(source), result.source, calls)
    assert equivalent(src(source), result.source, name)
    assert alpha_equivalent(undo(result.source, name), undo(src(source), name))


def test_every_rewrite_is_exercised_and_has_an_inverse():
    assert {a[0] for a in APPLIES} == set(REWRITE_NAMES) == set(REWRITES)
    assert all(REWRITES[r.inverse].inverse == name for name, r in REWRITES.items())


# (rewrite, source, the reason it refuses)
REFUSES = [
    ("loop_to_comprehension", """
        def f(xs):
            out = []
            for v in xs:
                out.append(v)
            return out, v
        """, "loop_variable_used"),
    ("loop_to_comprehension", """
        def f(xs):
            out = []
            for v in xs:
                out.append(len(out))
            return out
        """, "list_read_in_loop"),
    ("loop_to_comprehension", """
        def f(xs):
            try:
                out = []
                for v in xs:
                    out.append(1 / v)
            except ZeroDivisionError:
                pass
            return out
        """, "inside_try"),
    ("loop_to_comprehension", """
        def f(xs):
            out = []
            for v in xs:
                out.append(v)
            else:
                out.append(0)
            return out
        """, "loop_else"),
    ("loop_to_comprehension", """
        out = []
        for v in range(3):
            out.append(v)
        """, "not_in_function"),
    ("loop_to_comprehension", """
        def f(xs):
            seen = {}
            for k in xs:
                seen[k.strip()] = k.upper()
            return seen
        """, "evaluation_order"),
    ("loop_to_comprehension", """
        def f(xs):
            out = []
            for v in xs:
                # doubled
                out.append(v * 2)
            return out
        """, "comments_inside"),
    ("loop_to_comprehension", """
        set = frozenset
        def f(xs):
            s = set()
            for v in xs:
                s.add(v)
            return s
        """, "builtin_shadowed"),
    ("comprehension_to_loop", """
        def f(xs):
            x = 1
            ys = [x for x in xs]
            return ys, x
        """, "loop_variable_clash"),
    ("comprehension_to_loop", """
        def f(xs):
            ys = [a * b for a in xs for b in xs]
            return ys
        """, "several_clauses"),
    ("augmented_assignment", """
        def f(items):
            items = items + [1]
            return items
        """, "type_unknown"),
    ("augmented_assignment", """
        def f():
            acc = []
            acc = acc + [1]
            return acc
        """, "type_unknown"),
    ("negated_operator", """
        def f(a, b):
            return not a == b
        """, "type_unknown"),
    ("len_to_truth", """
        def f(arr):
            return len(arr) == 0
        """, "type_unknown"),
    ("format_to_fstring", """
        def f(a):
            return "{}".format(a.strip())
        """, "argument_not_a_name"),
    ("format_to_fstring", """
        def f(a, b):
            return "{}".format(a, b)
        """, "argument_unused_or_missing"),
    ("format_to_fstring", """
        def f(a):
            return "\\x7b{}".format(a)
        """, "escapes_in_template"),
    ("percent_to_format", """
        def f(a):
            return "%s" % a
        """, "operand_may_be_tuple"),
    ("percent_to_format", """
        def f(a, b):
            return "%d items, %.2f" % (a, b)
        """, "conversion_differs"),
    ("format_to_percent", """
        def f(a):
            return "{:>5}".format(a)
        """, "conversion_differs"),
    ("fstring_to_format", """
        def f(a):
            return f"{a + 1}"
        """, "field_not_a_name"),
    ("guard_clause", """
        def f(x):
            if x:
                return 1
            else:
                y = 2
            return y
        """, "statements_follow"),
    ("extract_subexpression", """
        def f(xs, n: int):
            return len(xs) * len(xs) - n
        """, "not_pure"),
    ("extract_subexpression", """
        def f(xs: list[int]):
            return len(xs) + xs.pop() + len(xs)
        """, "calls_between"),
    ("extract_subexpression", """
        def f(n: int):
            if n:
                m = 2
            return (m + 1) * (m + 1)
        """, "not_pure"),
    ("inline_variable", """
        def f(xs: list[int]):
            size = len(xs) + 1
            return size * 2
        """, "single_use"),
    ("inline_variable", """
        def f(xs: list[int]):
            size = len(xs) + 1
            print(size * size)
            return size
        """, "name_used_elsewhere"),
    ("if_to_conditional", """
        def f(x):
            if x:
                y = 1  # one
            else:
                y = 2
            return y
        """, "comments_inside"),
]


@pytest.mark.parametrize("name,source,reason", REFUSES, ids=[f"{r[0]}-{r[2]}" for r in REFUSES])
def test_rewrite_refuses_what_it_cannot_prove(name, source, reason):
    result = run(name, source)
    assert not result.applied and result.source == src(source)
    assert [why for _, why in result.refused] == [reason]


def test_untouched_code_keeps_its_layout_and_comments():
    source = src("""
        import os  # why os

        def f(xs):
            # keep me
            out = []
            for v in xs:
                out.append(v)
            return out   # odd spacing kept


        X = {  'a' :1}
        """)
    result = run_rewrite(source, REWRITES["loop_to_comprehension"])
    assert result.source == source.replace("    out = []\n    for v in xs:\n        out.append(v)\n",
                                           "    out = [v for v in xs]\n")


def test_one_site_by_seed_and_all_sites():
    source = src("""
        def f(a, b):
            return not a is None, not b is None, not a in b
        """)
    every = run_rewrite(source, REWRITES["negated_operator"])
    assert len(every.applied) == 3 and "not a" not in every.source
    picks = {run_rewrite(source, REWRITES["negated_operator"], seed=s, sites="one").source for s in range(12)}
    assert len(picks) >= 2 and all(p.count("is not") + p.count("not in") == 1 for p in picks)


def test_params_name_known_rewrites():
    with pytest.raises(ValueError, match="unknown rewrites"):
        RefactorParams(rewrites=["loop_to_comprehension", "inline_everything"])
    assert RefactorParams().rewrites == list(REWRITE_NAMES)
