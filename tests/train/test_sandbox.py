"""Generated code runs in a sandboxed subprocess: a right answer passes, a wrong one fails, a loop times out."""

from __future__ import annotations

import time

from pipeline.train.sandbox import assemble_program, check_completion, extract_code, run_program
from tests.train.helpers import ADD_PROMPT, ADD_SOLUTION, ADD_TEST


def test_a_correct_completion_passes():
    assert check_completion(ADD_PROMPT, ADD_SOLUTION, ADD_TEST, "add", timeout_s=10).status == "passed"
    # a chat answer with the whole function in a fence passes too
    chat = f"Here you go:\n```python\n{ADD_PROMPT}{ADD_SOLUTION}```\nHope it helps."
    assert check_completion(ADD_PROMPT, chat, ADD_TEST, "add", timeout_s=10).passed


def test_a_wrong_completion_fails_with_its_error():
    outcome = check_completion(ADD_PROMPT, "    return a - b\n", ADD_TEST, "add", timeout_s=10)
    assert (outcome.passed, outcome.status) == (False, "failed")
    assert "AssertionError" in outcome.detail


def test_an_infinite_loop_times_out_and_is_killed():
    started = time.monotonic()
    outcome = check_completion(ADD_PROMPT, "    while True:\n        pass\n", ADD_TEST, "add", timeout_s=1.5)
    assert outcome.status == "timeout" and not outcome.passed
    assert time.monotonic() - started < 5


def test_the_sandbox_is_isolated_and_limited():
    program = ("import os, resource, sys\n"
               "assert sys.flags.isolated == 1\n"
               "assert 'PYTHONPATH' not in os.environ and 'VIRTUAL_ENV' not in os.environ\n"
               "assert os.listdir('.') == ['program.py']\n"
               "assert resource.getrlimit(resource.RLIMIT_AS)[0] <= 1 << 30\n")
    assert run_program(program, timeout_s=10).status == "passed"
    assert run_program("x = bytearray(2 << 30)\n", timeout_s=10).status == "failed"  # MemoryError


def test_code_extraction_and_program_layout():
    assert extract_code("text\n```python\nx = 1\n```\nmore") == "x = 1\n"
    assert extract_code("```\nunclosed = 2\n") == "unclosed = 2\n"
    assert extract_code("    return 1\n") == "    return 1\n"
    program = assemble_program(ADD_PROMPT, ADD_SOLUTION, ADD_TEST, "add")
    assert program.startswith(ADD_PROMPT) and program.rstrip().endswith("check(add)")
    # a plain-English prompt is not Python: it is left out of the program
    program = assemble_program("Write an add function.", "def add(a, b):\n    return a + b\n", ADD_TEST, "add")
    assert program.startswith("\n")
