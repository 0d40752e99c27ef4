"""Tests for pipeline.augment.rename: unit semantics plus behavioural proof on stdlib modules."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import subprocess
import sys
import textwrap
import types

import pytest

from pipeline.augment.alpha import alpha_equivalent
from pipeline.augment.rename import RenameError, rename_identifiers, rename_report


def _run(source: str, name: str = "m") -> types.ModuleType:
    """Execute ``source`` as a fresh, uniquely named module object (never touches sys.modules)."""
    mod = types.ModuleType(f"_renamed_{name}_{next(_COUNTER)}")
    exec(compile(source, mod.__name__, "exec"), mod.__dict__)
    return mod


_COUNTER = itertools.count()

SAMPLE = textwrap.dedent(
    '''\
    import os
    from math import sqrt as root

    LIMIT = 10


    def compute(a, b=2):
        """Docstring stays."""
        # leading comment
        acc = a + b  # trailing comment

        for i in range(LIMIT):
            acc += i
        return acc


    def caller():
        return compute(a=1)
    '''
)


def test_layout_and_comments_preserved():
    out = rename_identifiers(SAMPLE)
    assert out != SAMPLE
    assert "# leading comment" in out and "# trailing comment" in out and '"""Docstring stays."""' in out
    assert [ln for ln in out.splitlines() if not ln.strip()] == [ln for ln in SAMPLE.splitlines() if not ln.strip()]
    assert len(out.splitlines()) == len(SAMPLE.splitlines())
    ast.parse(out)
    assert alpha_equivalent(SAMPLE, out)


def test_local_renamed_consistently_and_interfaces_kept():
    report = rename_report(SAMPLE, seed=3)
    old_to_new = {old: new for _, old, new in report.mapping}
    assert {"acc", "i"} <= set(old_to_new)
    tree = ast.parse(report.source)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "acc" not in names and "i" not in names
    assert {"LIMIT", "range", "compute"} <= names  # globals/builtins untouched
    assert "import os" in report.source and "from math import sqrt as root" in report.source
    for new in old_to_new.values():
        assert new.isidentifier() and not new.startswith("var")
    assert _run(report.source).caller() == _run(SAMPLE).caller() == 48


def test_parameters_off_by_default_and_on_when_enabled():
    off = rename_identifiers(SAMPLE)
    assert "def compute(a, b=2):" in off
    assert _run(off).caller() == 48  # keyword call compute(a=1) still works
    on = rename_report(SAMPLE, rename_parameters=True)
    mapped = {old for _, old, _ in on.mapping}
    assert {"a", "b"} <= mapped
    assert "def compute(a," not in on.source
    assert "compute(a=1)" in on.source  # call-site keyword is not a variable
    mod = _run(on.source)
    assert mod.compute(1) == 48  # positional use still fine
    with pytest.raises(TypeError):
        mod.caller()  # why parameters are off by default
    assert alpha_equivalent(SAMPLE, on.source)


def test_never_touched_names():
    src = textwrap.dedent(
        """\
        import json
        G = 1
        counter = 0

        class Box:
            size = 3
            def area(self, other):
                w = self.size * other.size
                return w

        def bump():
            global counter
            counter += 1
            return counter

        def outer():
            n = 0
            def inner():
                nonlocal n
                n += 1
                return n
            return inner() + inner()

        def uses_import():
            import math
            return math.floor(2.5) + len([1]) + json.loads("1")

        def dunder():
            __x__ = 1
            _ = 2
            return __x__ + _
        """
    )
    report = rename_report(src, rename_parameters=True)
    out = report.source
    mapped = {old for _, old, _ in report.mapping}
    for name in ("self", "counter", "n", "math", "json", "G", "size", "__x__", "_", "len"):
        assert name not in mapped
    assert "w" in mapped and "other" in mapped
    assert "self.size" in out and ".size" in out and "global counter" in out and "nonlocal n" in out
    a, b = _run(src), _run(out)
    assert a.outer() == b.outer() == 3 and a.bump() == b.bump() == 1 and a.uses_import() == b.uses_import()
    assert alpha_equivalent(src, out)


@pytest.mark.parametrize("call", ["locals()", "vars()", "eval('x')", "exec('pass')"])
def test_dynamic_scope_untouched(call):
    src = f"def f():\n    x = 1\n    def g():\n        y = 2\n        return y\n    return {call}, g()\n"
    report = rename_report(src)
    assert report.source == src
    assert report.renamed == 0 and report.eligible == 2


def test_closure_renamed_consistently_and_runs_the_same():
    src = textwrap.dedent(
        """\
        def make(k):
            base = k * 2
            def add(v):
                return base + v
            fns = [lambda q: q + base for _ in range(2)]
            return add(1), fns[0](1)
        """
    )
    report = rename_report(src, seed=5)
    assert "base" in {old for _, old, _ in report.mapping}
    assert "base" not in report.source
    assert _run(report.source).make(3) == _run(src).make(3) == (7, 7)
    assert alpha_equivalent(src, report.source)


def test_comprehension_except_walrus():
    src = textwrap.dedent(
        """\
        def f(xs):
            out = [y * 2 for y in xs if y]
            pairs = {k: v for k, v in zip(xs, out)}
            if (m := max(out)) > 1:
                pass
            try:
                raise ValueError(m)
            except ValueError as err:
                got = err.args[0]
            return out, pairs, got, [(s := t) for t in xs], s
        """
    )
    report = rename_report(src, seed=1)
    mapped = {old for _, old, _ in report.mapping}
    assert {"y", "k", "v", "m", "err", "got", "out", "pairs", "t"} <= mapped
    assert "s" not in mapped  # walrus inside a comprehension binds in f; libcst disagrees, so skipped
    tree = ast.parse(report.source)
    assert not {"y", "k", "err", "m"} & {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert _run(report.source).f([1, 2, 3]) == _run(src).f([1, 2, 3])
    assert alpha_equivalent(src, report.source)


def test_seeds_differ_and_are_deterministic():
    outs = {rename_identifiers(SAMPLE, seed=s) for s in range(5)}
    assert len(outs) > 1
    assert rename_identifiers(SAMPLE, seed=7) == rename_identifiers(SAMPLE, seed=7)


def test_vocabulary_exhaustion_falls_back_to_combos():
    body = "\n".join(f"    v{i} = {i}" for i in range(200))
    src = f"def f():\n{body}\n    return " + " + ".join(f"v{i}" for i in range(200)) + "\n"
    report = rename_report(src)
    assert report.renamed == 200
    news = [new for _, _, new in report.mapping]
    assert len(set(news)) == 200 and any("_" in n.strip("_") for n in news)
    assert _run(report.source).f() == sum(range(200))


def test_new_names_avoid_existing_names():
    words = ["value", "item", "count", "total", "result", "index", "node", "entry"]
    src = "".join(f"{w} = 1\n" for w in words) + "def f():\n    x = 1\n    return x\n"
    for seed in range(10):
        new = rename_report(src, seed=seed).mapping[0][2]
        assert new not in words


def test_unparsable_raises():
    with pytest.raises(RenameError, match="line 2"):
        rename_identifiers("def f():\n    return (\n")
    assert issubclass(RenameError, ValueError)


def test_alpha_equivalent_detects_real_changes():
    a = "def f(x):\n    y = x\n    return y\n"
    assert alpha_equivalent(a, "def f(x):\n    z = x\n    return z\n")
    assert not alpha_equivalent(a, "def f(x):\n    y = x\n    return x\n")
    assert not alpha_equivalent("G = 1\ndef f():\n    return G\n", "H = 1\ndef f():\n    return H\n")
    assert not alpha_equivalent("def f(x):\n    return x\n", "def f(y):\n    return x\n")


def test_import_pipeline_does_not_import_libcst():
    code = "import sys, pipeline; assert 'libcst' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ behavioural proof on stdlib


def _stdlib_source(name: str) -> str:
    spec = importlib.util.find_spec(name)
    with open(spec.origin, encoding="utf-8") as fh:
        return fh.read()


def _textwrap(m):
    text = "The quick brown fox jumps over the lazy dog. " * 5 + "\n\tindented   line\n"
    return [
        m.wrap(text, 20),
        m.fill(text, width=33, initial_indent="> ", subsequent_indent=". "),
        m.dedent("    a\n      b\n    c\n"),
        m.shorten(text, 40),
        m.indent("x\n\ny\n", "# "),
        m.TextWrapper(width=10, break_long_words=False).wrap("supercalifragilistic words here"),
    ]


def _colorsys(m):
    out = []
    for rgb in [(0.2, 0.4, 0.6), (1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.0, 0.9, 0.3)]:
        out += [m.rgb_to_hsv(*rgb), m.rgb_to_hls(*rgb), m.rgb_to_yiq(*rgb)]
        out += [m.hsv_to_rgb(*m.rgb_to_hsv(*rgb)), m.hls_to_rgb(*m.rgb_to_hls(*rgb)), m.yiq_to_rgb(*m.rgb_to_yiq(*rgb))]
    return out


def _fractions(m):
    F = m.Fraction
    a, b = F(3, 7), F("2.5")
    return [
        str(a + b), str(a * b), str(a / b), str(a - b), str(a**3), str(F(1.1)),
        str(F(3.14159).limit_denominator(100)), str(round(F(7, 3), 2)), str(F("1e-3")),
        a < b, float(a), str(F(10, -4)), str(-a // b), str(a % b), str(F(1, 3) ** -2),
    ]


def _difflib(m):
    a = "one two three four five six".split()
    b = "one three four seven five six eight".split()
    sm = m.SequenceMatcher(None, a, b)
    return [
        sm.ratio(), sm.get_opcodes(), sm.get_matching_blocks(), list(sm.get_grouped_opcodes(1)),
        list(m.unified_diff(a, b, lineterm="")), list(m.context_diff(a, b, lineterm="")),
        list(m.ndiff(["abcde\n", "xyz\n"], ["abcdf\n", "xyz\n"])),
        m.get_close_matches("appel", ["ape", "apple", "peach", "puppy"]),
        m.HtmlDiff().make_table(a, b)[:2000],
    ]


def _statistics(m):
    data = [2.5, 3.1, 4.7, 1.2, 9.9, 3.1, 5.0]
    return [
        m.mean(data), m.median(data), m.stdev(data), m.pvariance(data), m.mode(data),
        m.median_low(data), m.median_high(data), m.harmonic_mean([1, 2, 4]), m.geometric_mean([1, 2, 4]),
        m.quantiles(data, n=4), m.fmean(data), m.multimode("aabbc"), m.median_grouped([1, 2, 2, 3]),
    ]


def _shlex(m):
    cmds = ["ls -l 'a b' \"c d\" e\\ f", "echo $HOME # comment", "a=1 b='x y'"]
    return [m.split(c) for c in cmds] + [m.split(cmds[1], comments=True)] + [
        m.quote("it's here"), m.join(["a b", "c"]), list(m.shlex("x + y", punctuation_chars=True)),
    ]


def _base64(m):
    blobs = [b"", b"f", b"fo", b"foobar", bytes(range(256))]
    out = []
    for blob in blobs:
        out += [m.b64encode(blob), m.b32encode(blob), m.b16encode(blob), m.b85encode(blob), m.a85encode(blob)]
        out += [m.b32decode(m.b32encode(blob)), m.b85decode(m.b85encode(blob)), m.a85decode(m.a85encode(blob))]
        out += [m.urlsafe_b64encode(blob), m.b32hexencode(blob)]
    return out


def _heapq(m):
    data = [5, 1, 9, 3, 7, 2, 8]
    h = list(data)
    m.heapify(h)
    m.heappush(h, 4)
    popped = [m.heappop(h) for _ in range(3)]
    return [popped, m.nlargest(3, data), m.nsmallest(3, data, key=lambda v: -v), list(m.merge([1, 4], [2, 3], [0]))]


def _calendar(m):
    c = m.TextCalendar(firstweekday=2)
    return [c.formatmonth(2024, 2), m.monthrange(2023, 2), m.isleap(2000), m.leapdays(1900, 2024),
            m.HTMLCalendar().formatmonth(2021, 7), m.weekday(2024, 5, 17), c.formatyear(2022)[:500]]


BEHAVIOUR = {
    "textwrap": _textwrap, "colorsys": _colorsys, "fractions": _fractions, "difflib": _difflib,
    "statistics": _statistics, "shlex": _shlex, "base64": _base64, "heapq": _heapq, "calendar": _calendar,
}


def _outcome(fn, mod):
    try:
        return ("ok", fn(mod))
    except Exception as exc:  # identical exception types count as identical behaviour
        return ("error", type(exc).__name__)


@pytest.mark.parametrize("name", sorted(BEHAVIOUR))
def test_stdlib_behaviour_unchanged(name):
    source = _stdlib_source(name)
    original = _outcome(BEHAVIOUR[name], _run(source, name))
    assert original[0] == "ok", original
    for seed in (0, 1, 2):
        report = rename_report(source, seed=seed)
        assert report.source != source
        frac = report.renamed / report.eligible
        print(f"{name} seed={seed}: renamed {report.renamed}/{report.eligible} = {frac:.0%}")
        assert frac >= 0.5
        assert alpha_equivalent(source, report.source)
        assert _outcome(BEHAVIOUR[name], _run(report.source, name)) == original


CORPUS = [
    "textwrap", "colorsys", "fractions", "difflib", "statistics", "shlex", "base64", "heapq", "calendar",
    "bisect", "string", "json.encoder", "json.decoder", "csv", "glob", "gzip", "pprint", "random",
    "urllib.parse", "functools", "enum", "dataclasses", "fnmatch", "graphlib", "quopri", "sched",
    "getopt", "netrc", "copy", "contextlib", "cmd", "wave",
]


def test_stdlib_corpus_compiles_and_is_alpha_equivalent():
    totals = [0, 0]
    for name in CORPUS:
        source = _stdlib_source(name)
        for params in (False, True) if len(source) < 15_000 else (False,):
            report = rename_report(source, seed=len(name), rename_parameters=params)
            compile(report.source, name, "exec")
            assert alpha_equivalent(source, report.source), (name, params)
            if not params:
                totals[0] += report.renamed
                totals[1] += report.eligible
    print(f"corpus: renamed {totals[0]}/{totals[1]} = {totals[0] / totals[1]:.0%}")
    assert totals[0] / totals[1] >= 0.5
