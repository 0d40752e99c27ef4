"""Mine a Python source tree into docstring -> code records.

Each documented function (and, optionally, method) becomes one record: the docstring is the
prompt, the function's source (decorators and signature included, docstring removed by
default) is the code. Comments and layout of the body are kept exactly as written, because
the source is cut out of the file by line numbers rather than regenerated from the AST.
"""

from __future__ import annotations

import ast
import inspect
import warnings
from pathlib import Path
from typing import Iterator

from pipeline.collect.base import RawReject, RawRow, ReaderOutput, expand_paths, looks_binary, preview_bytes
from pipeline.collect.config import SourceConfig


def _functions(tree: ast.Module, include_methods: bool) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(qualified name, node) for module-level functions and, if asked, methods of classes."""
    def walk(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield prefix + node.name, node
            elif isinstance(node, ast.ClassDef) and include_methods:
                yield from walk(node.body, f"{prefix}{node.name}.")

    yield from walk(tree.body, "")


def _function_source(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef, strip_docstring: bool) -> str:
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    end = node.end_lineno or node.lineno
    doc_node = node.body[0]
    keep = list(range(start, end))
    if strip_docstring and len(node.body) > 1:
        # Removing the docstring statement keeps the body valid only if more statements follow.
        drop = set(range(doc_node.lineno - 1, (doc_node.end_lineno or doc_node.lineno)))
        keep = [i for i in keep if i not in drop]
    chunk = [lines[i] for i in keep]
    indent = len(chunk[0]) - len(chunk[0].lstrip())
    return "".join(line[indent:] if line[:indent].strip() == "" else line for line in chunk).rstrip() + "\n"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def read_python_file(path: Path, root: Path, source: SourceConfig) -> ReaderOutput:
    raw = path.read_bytes()
    rel = path.relative_to(root) if path.is_relative_to(root) else path
    if not raw.strip():
        return  # an empty module (an __init__.py, often) holds no functions: nothing to account for
    if looks_binary(path):
        yield RawReject("binary_file", "not a text file", str(path), preview_bytes(raw))
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield RawReject("bad_utf8", f"invalid UTF-8 at byte {exc.start}", str(path), preview_bytes(raw))
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # invalid escapes in old stdlib modules
            tree = ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        yield RawReject("syntax_error", f"file does not parse: {exc}"[:300], str(path), preview_bytes(raw))
        return
    lines = text.splitlines(keepends=True)
    for qualname, node in _functions(tree, source.include_methods):
        docstring = ast.get_docstring(node, clean=False)
        if not docstring:
            continue
        if not source.include_private and any(_is_private(part) for part in qualname.split(".")):
            continue
        if (node.end_lineno or node.lineno) - node.lineno + 1 < source.min_code_lines:
            continue
        code = _function_source(lines, node, source.strip_docstring)
        yield RawRow(
            {
                "prompt": inspect.cleandoc(docstring),
                "code": code,
                "language": "python",
                "path": str(rel),
                "qualname": qualname,
                "lineno": node.lineno,
            },
            f"{path}:{node.lineno}",
        )


def read_code_tree(path: Path, source: SourceConfig, files: list[Path] | None = None) -> ReaderOutput:
    """Every function under `path` (or in `files` of it: a shard)."""
    root = path if path.is_dir() else path.parent
    for file in files if files is not None else expand_paths(str(path), (".py",), source.exclude):
        yield from read_python_file(file, root, source)
