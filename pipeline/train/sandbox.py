"""Run generated code against its tests in a sandboxed subprocess.

Generated code is untrusted: it runs in `python -I` (no user site, no PYTHON* variables) in a
fresh temporary folder, with a minimal environment, memory / CPU-time / file-size limits,
its own process group (killed whole on timeout) and a wall-clock timeout. This stops
accidents (infinite loops, memory blow-ups, stray files), not a determined attacker: use a
container for untrusted models.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

MEMORY_BYTES = 1 << 30  # address space: enough for the interpreter and small tests
FILE_BYTES = 10 << 20
_FENCE = re.compile(r"```[A-Za-z0-9_+-]*[ \t]*\n(.*?)(?:```|\Z)", re.S)


@dataclass
class RunOutcome:
    passed: bool
    status: str  # passed | failed | timeout
    detail: str = ""


def extract_code(generation: str) -> str:
    """The first fenced block of a chat answer, else the whole answer (a bare completion)."""
    match = _FENCE.search(generation)
    return match.group(1) if match else generation


def assemble_program(prompt: str, completion: str, test: str, entry_point: str) -> str:
    """HumanEval layout: prompt (signature + docstring) + completion + tests + check(entry_point).

    A chat model usually writes the whole function; the prompt is still prepended for its
    imports and helpers, and the later definition wins. A prompt that is not Python (a plain
    English instruction) is left out.
    """
    head = prompt if _compiles(prompt) else ""
    joiner = "\n" if completion[:1] in (" ", "\t") else "\n\n"  # a bare body continues the prompt's def
    return f"{head}{joiner}{completion}\n\n{test}\n\ncheck({entry_point})\n"


def _compiles(source: str) -> bool:
    try:
        compile(source, "<prompt>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


# The child sets its own limits before running the program: a `preexec_fn` would run Python
# between fork and exec, which can deadlock in a parent with threads (torch has several).
_LAUNCHER = """
import resource, runpy, sys
for name, value in (("RLIMIT_AS", {memory}), ("RLIMIT_CPU", {cpu}), ("RLIMIT_FSIZE", {fsize}), ("RLIMIT_CORE", 0)):
    resource.setrlimit(getattr(resource, name), (value, value))
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def run_program(program: str, timeout_s: float) -> RunOutcome:
    """Run `program`; it passes when it exits 0 within the time limit."""
    with tempfile.TemporaryDirectory(prefix="curate-sandbox-") as workdir:
        path = os.path.join(workdir, "program.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(program)
        launcher = _LAUNCHER.format(memory=MEMORY_BYTES, cpu=int(timeout_s) + 1, fsize=FILE_BYTES)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", launcher, path], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            output, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole group: children it forked die too
            proc.communicate()
            return RunOutcome(False, "timeout", f"no exit within {timeout_s:g} s")
    text = output.decode("utf-8", "replace")[-2000:]
    if proc.returncode == 0:
        return RunOutcome(True, "passed")
    if proc.returncode == -signal.SIGXCPU:
        return RunOutcome(False, "timeout", "CPU time limit")
    return RunOutcome(False, "failed", text)


def check_completion(prompt: str, generation: str, test: str, entry_point: str, timeout_s: float) -> RunOutcome:
    return run_program(assemble_program(prompt, extract_code(generation), test, entry_point), timeout_s)
