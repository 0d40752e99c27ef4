"""Proof by a module's own test suite: a refactored standard-library module must still pass the
CPython tests written for it (`test.test_<name>`).

The refactored source is written to a folder put first on `sys.path` of a fresh interpreter,
imported (in place of any copy loaded at start-up) before `unittest` (which imports difflib and fnmatch itself), and checked to be the file
that loaded; the suite's `import_fresh_module` calls then find it too. The suite runs in that
subprocess, so a refactoring that hangs or crashes costs a timeout, not the caller.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_RUNNER = r'''
import io, json, sys
folder, name = sys.argv[1], sys.argv[2]
sys.path.insert(0, folder)
sys.modules.pop(name, None)  # loaded at start-up already (fnmatch is): load the given file instead
import importlib
module = importlib.import_module(name)
import unittest
suite = unittest.defaultTestLoader.loadTestsFromName(f"test.test_{name}")
result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
problems = [str(t) + ": " + tb.strip().splitlines()[-1] for t, tb in result.failures + result.errors]
print(json.dumps({"file": module.__file__, "ran": result.testsRun, "skipped": len(result.skipped),
                  "failures": len(result.failures), "errors": len(result.errors), "problems": problems[:5]}))
'''


@dataclass
class SuiteOutcome:
    module: str
    passed: bool
    ran: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    detail: str = ""


def has_suite(name: str) -> bool:
    """Whether this interpreter ships CPython's test package with a suite for `name`."""
    import importlib.util

    try:
        return importlib.util.find_spec(f"test.test_{name}") is not None
    except ModuleNotFoundError:
        return False


def run_suite(name: str, source: str, timeout_s: float = 300) -> SuiteOutcome:
    """Run `test.test_<name>` against `source` as module `name` (a top-level module)."""
    with tempfile.TemporaryDirectory(prefix="suite-") as folder:
        path = Path(folder) / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        try:
            done = subprocess.run([sys.executable, "-c", _RUNNER, folder, name], capture_output=True, text=True,
                                  timeout=timeout_s, cwd=folder)
        except subprocess.TimeoutExpired:
            return SuiteOutcome(name, False, detail=f"timed out after {timeout_s:.0f} s")
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            return SuiteOutcome(name, False, detail=(done.stderr.strip().splitlines() or ["no output"])[-1][:300])
        out = json.loads(lines[-1])
        if Path(out["file"]).resolve() != path.resolve():
            return SuiteOutcome(name, False, detail=f"the suite loaded {out['file']}, not the refactored module")
        passed = out["failures"] == 0 and out["errors"] == 0 and out["ran"] > 0
        return SuiteOutcome(name, passed, out["ran"], out["failures"], out["errors"], out["skipped"],
                            "; ".join(out["problems"]))
