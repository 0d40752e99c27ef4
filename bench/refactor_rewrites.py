"""Benchmark: each refactoring rewrite, on HumanEval, on the demo's standard-library functions, and on
whole standard-library modules under their own CPython test suites.

1. HumanEval's 164 canonical solutions (prompt + solution, as the demo's code records hold them):
   per rewrite, the records it rewrites (through the refactor augmenter, one rewrite allowed), the
   records it refuses and why, how many pass the equivalence gate, and how many pass their own tests
   in the sandbox: of the kept outputs (gate passed), and of every output (the gate set aside).
2. The demo's standard-library functions (the code_tree source of the demo config, first
   --stdlib-limit of them): per rewrite, records rewritten, refused, and passing the gate.
3. Standard-library modules with a CPython suite (`test.test_<name>`): per module and rewrite, the
   module rewritten at every proven site, then its suite run against it
   (pipeline/augment/refactor/proof.py: the refactored file first on sys.path of a fresh
   interpreter, checked to be the file that loaded). Also every rewrite composed on one module.

    .venv/bin/python bench/refactor_rewrites.py                     # all three parts
    .venv/bin/python bench/refactor_rewrites.py --stdlib-limit 500 --modules textwrap heapq

The demo data must be prepared first (`curate demo-data`).
"""

from __future__ import annotations

import _setup  # noqa: F401  (sys.path, offline hubs, quiet loads)

import argparse
import json
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

from pipeline.augment.refactor.params import REWRITE_NAMES

MODULES = ["textwrap", "colorsys", "heapq", "bisect", "shlex", "base64", "fnmatch", "getopt", "quopri",
           "graphlib", "string", "difflib", "fractions", "statistics", "calendar", "glob", "csv", "pprint"]


def humaneval_records() -> list[dict]:
    from pipeline.demo.data import data_home, humaneval_jsonl, prepare_humaneval

    path = humaneval_jsonl(data_home())
    if not path.is_file():
        prepare_humaneval(data_home())
    return [json.loads(line) for line in path.read_text().splitlines()]


def stdlib_records(limit: int) -> list[dict]:
    from pipeline.collect.code_tree import read_code_tree
    from pipeline.demo.config import demo_config
    from pipeline.collect.base import RawRow

    [source] = [s for s in demo_config().sources if s.name == "stdlib"]
    from pathlib import Path

    out = []
    for row in read_code_tree(Path(source.path), source):
        if isinstance(row, RawRow):
            out.append(row.data)
            if len(out) >= limit:
                break
    return out


def edit_all(name: str, codes: list[str], prompts: list[str | None]):
    from pipeline.augment.refactor.augmenter import RefactorAugmenter
    from pipeline.augment.refactor.params import RefactorParams

    return RefactorAugmenter(RefactorParams(rewrites=[name])).augment_records(codes, prompts, [0] * len(codes))


def context(code: str, prompt: str | None) -> str:
    """What the gate compares: prompt + code when the code is a bare body."""
    from pipeline.augment.code_ops import bare_body_prefix

    return (bare_body_prefix(code, prompt) or "") + code


def humaneval_part(problems: list[dict], workers: int) -> None:
    from pipeline.augment.refactor.registry import equivalent
    from pipeline.train.sandbox import assemble_program, run_program

    print(f"\nHumanEval: {len(problems)} canonical solutions")
    print(f"{'rewrite':<24}{'applied':>8}{'refused':>8}{'gate ok':>8}{'kept pass':>10}{'all pass':>9}  refusals")
    codes, prompts = [p["canonical_solution"] for p in problems], [p["prompt"] for p in problems]
    totals = Counter()
    for name in REWRITE_NAMES:
        edits = edit_all(name, codes, prompts)
        applied = [(p, e) for p, e in zip(problems, edits) if e.text is not None]
        refused = Counter(e.reason.split(":", 2)[2] for e in edits if e.reason and e.reason.startswith("refused:"))
        gate = {p["task_id"]: equivalent(context(p["canonical_solution"], p["prompt"]),
                                         context(e.text, p["prompt"]), name) for p, e in applied}

        def test(item):
            p, e = item
            return p["task_id"], run_program(assemble_program(p["prompt"], e.text, p["test"], p["entry_point"]),
                                             10.0).passed

        with ThreadPoolExecutor(workers) as pool:
            passed = dict(pool.map(test, applied))
        kept = [t for t, ok in gate.items() if ok]
        kept_pass = sum(passed[t] for t in kept)
        print(f"{name:<24}{len(applied):>8}{sum(refused.values()):>8}{len(kept):>8}"
              f"{f'{kept_pass}/{len(kept)}':>10}{f'{sum(passed.values())}/{len(applied)}':>9}  "
              f"{dict(refused.most_common(3))}")
        totals.update(applied=len(applied), kept=len(kept), kept_pass=kept_pass)
    print(f"total: {totals['applied']} outputs, {totals['kept']} kept by the gate, {totals['kept_pass']} of those "
          f"pass their tests ({totals['kept_pass'] / max(totals['kept'], 1):.1%})")


def stdlib_part(functions: list[dict]) -> None:
    from pipeline.augment.refactor.registry import equivalent

    print(f"\nStandard-library functions: {len(functions)} (the demo's code_tree source)")
    print(f"{'rewrite':<24}{'applied':>8}{'refused':>8}{'gate ok':>8}  refusals")
    codes, prompts = [f["code"] for f in functions], [f["prompt"] for f in functions]
    for name in REWRITE_NAMES:
        t0 = time.perf_counter()
        edits = edit_all(name, codes, prompts)
        seconds = time.perf_counter() - t0
        applied = [(c, e) for c, e in zip(codes, edits) if e.text is not None]
        refused = Counter(e.reason.split(":", 2)[2] for e in edits if e.reason and e.reason.startswith("refused:"))
        ok = sum(equivalent(c, e.text, name) for c, e in applied)
        print(f"{name:<24}{len(applied):>8}{sum(refused.values()):>8}{ok:>8}  {dict(refused.most_common(3))}"
              f"  ({len(codes) / seconds:,.0f} functions/s)")


def suites_part(modules: list[str]) -> None:
    import importlib.util

    from pipeline.augment.refactor.base import run_rewrite
    from pipeline.augment.refactor.proof import has_suite, run_suite
    from pipeline.augment.refactor.registry import REWRITES

    print("\nStandard-library modules under their CPython suites (rewrite: sites rewritten, suite result)")
    rows: dict[str, Counter] = defaultdict(Counter)
    for module in modules:
        if not has_suite(module):
            print(f"  {module}: no test.test_{module} in this interpreter")
            continue
        source = open(importlib.util.find_spec(module).origin, encoding="utf-8").read()
        baseline = run_suite(module, source)
        parts = []
        composed = source
        for name in REWRITE_NAMES:
            result = run_rewrite(source, REWRITES[name])
            composed = run_rewrite(composed, REWRITES[name]).source if result.applied else composed
            if not result.applied:
                continue
            outcome = run_suite(module, result.source)
            rows[name].update(modules=1, sites=len(result.applied), passed=int(outcome.passed))
            parts.append(f"{name} {len(result.applied)}{'' if outcome.passed else ' FAILED: ' + outcome.detail}")
        together = run_suite(module, composed) if composed != source else None
        print(f"  {module} (suite: {baseline.ran} tests, {'passes' if baseline.passed else 'FAILS'} unchanged): "
              + "; ".join(parts)
              + (f" | all composed: {'pass' if together.passed else 'FAIL ' + together.detail}" if together else ""))
    print(f"{'rewrite':<24}{'modules':>8}{'sites':>8}{'suites pass':>12}")
    for name in REWRITE_NAMES:
        r = rows.get(name, Counter())
        suites = f"{r['passed']}/{r['modules']}"
        print(f"{name:<24}{r['modules']:>8}{r['sites']:>8}{suites:>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stdlib-limit", type=int, default=3000)
    parser.add_argument("--modules", nargs="*", default=MODULES)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--parts", nargs="*", default=["humaneval", "stdlib", "suites"])
    parser.add_argument("--rewrites", nargs="*", help="only these rewrites (default: all)")
    args = parser.parse_args()
    if args.rewrites:
        global REWRITE_NAMES
        REWRITE_NAMES = tuple(args.rewrites)
    t0 = time.perf_counter()
    if "humaneval" in args.parts:
        humaneval_part(humaneval_records(), args.workers)
    if "stdlib" in args.parts:
        stdlib_part(stdlib_records(args.stdlib_limit))
    if "suites" in args.parts:
        suites_part(args.modules)
    print(f"\n{time.perf_counter() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
