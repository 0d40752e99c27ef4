"""Syntax checks for code records. Only Python is judged; other languages pass untouched."""

from __future__ import annotations

import ast
import warnings

PYTHON_NAMES = frozenset({"python", "python3", "py"})


def is_python(language: str | None) -> bool:
    return language is not None and language.strip().lower() in PYTHON_NAMES


def python_syntax_error(code: str) -> str | None:
    """None when `code` parses as Python (this interpreter's grammar), else why not, with the line."""
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences and the like are warnings, not errors; without this,
            # every such record would print to the worker's stderr.
            warnings.simplefilter("ignore")
            ast.parse(code)
    except SyntaxError as e:  # IndentationError and TabError included
        where = f"line {e.lineno}" if e.lineno else "unknown line"
        return f"{where}: {e.msg}"
    except ValueError as e:  # NUL bytes in the source (Python < 3.12 raises ValueError)
        return f"unknown line: {e}"
    except (RecursionError, MemoryError) as e:  # deeply nested or huge pathological input
        return f"unknown line: parser gave up ({type(e).__name__})"
    return None


def syntax_error(code: str | None, language: str | None) -> str | None:
    """The syntax error of a code record, or None when it parses or its language is not judged."""
    if code is None or not is_python(language):
        return None
    return python_syntax_error(code)
