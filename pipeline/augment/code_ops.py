"""Code augmenters: rename locals, remove comments, add a docstring from the record's prompt.

All three edit libcst's concrete syntax tree, so everything they do not touch (layout,
strings, the other comments) survives byte for byte. A record whose `code` is a bare
function body (HumanEval keeps the signature and docstring in `prompt`) is edited as
prompt + code, and the prompt is cut off again; an edit that reached into the prompt
fails rather than return a record whose two fields no longer fit together.
"""

from __future__ import annotations

import ast
import re
from abc import abstractmethod
from typing import Any, Callable, ClassVar

import libcst as cst

from pipeline.augment.base import Augmenter, Edit
from pipeline.augment.rename import RenameError, rename_report
from pipeline.config_base import Strict

# Comments tools read: shebang, encoding, type comments, linter and coverage pragmas.
_KEEP_COMMENT = re.compile(r"#!|#.*coding[:=]|#\s*(type:|noqa|pragma|fmt:|pylint:|mypy:)")


class CodeParams(Strict):
    rename_parameters: bool = False  # keyword callers depend on parameter names: off by default


def parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def bare_body_prefix(code: str, prompt: str | None) -> str | None:
    """What the code is edited and compared after: "" when it parses alone, the prompt when it is
    a bare body that parses after it (HumanEval layout), None when neither parses."""
    if parses(code):
        return ""
    return prompt if prompt and parses(prompt + code) else None


def with_context(code: str, prompt: str | None, edit: Callable[[str], tuple[str, dict[str, Any]]]) -> Edit:
    """Apply `edit` to the code, or to prompt + code when the code is a bare body."""
    prefix = bare_body_prefix(code, prompt)
    if prefix is None:
        return Edit.failed("unparsable")
    try:
        new, params = edit(prefix + code)
    except (RenameError, cst.ParserSyntaxError) as exc:
        return Edit.failed("unparsable", error=str(exc)[:200])
    if not new.startswith(prefix):
        return Edit.failed("prompt_changed")
    new = new[len(prefix):]
    if new == code:
        return Edit.failed(params.pop("_unchanged", "unchanged"), **params)
    params.pop("_unchanged", None)
    return Edit(new, {**params, "with_prompt": bool(prefix)})


class CodeAugmenter(Augmenter):
    """Code augmenters see the record's prompt too: `augment_records` gets both."""

    uses_prompt: ClassVar[bool] = True

    def augment(self, texts: list[str], seeds: list[int]) -> list[Edit]:
        return self.augment_records(texts, [None] * len(texts), seeds)

    def augment_records(self, codes: list[str], prompts: list[str | None], seeds: list[int]) -> list[Edit]:
        return [with_context(c, p, lambda src, s=s, p=p: self.edit(src, s, p)) for c, p, s in zip(codes, prompts, seeds)]

    @abstractmethod
    def edit(self, source: str, seed: int, prompt: str | None) -> tuple[str, dict[str, Any]]:
        """The edited source and the edit's params (`_unchanged`: the reason when nothing changed)."""


class RenameAugmenter(CodeAugmenter):
    name = "rename_identifiers"

    def __init__(self, params: CodeParams | None = None):
        self.rename_parameters = (params or CodeParams()).rename_parameters

    def edit(self, source, seed, prompt):
        report = rename_report(source, seed=seed, rename_parameters=self.rename_parameters)
        params = {"renamed": report.renamed, "eligible": report.eligible, "mapping": report.mapping}
        return report.source, {**params, "_unchanged": "no_renamable_names"} if not report.renamed else params


class _CommentRemover(cst.CSTTransformer):
    def __init__(self) -> None:
        self.removed = 0

    def _drop(self, comment: cst.Comment | None) -> bool:
        return comment is not None and not _KEEP_COMMENT.match(comment.value)

    def leave_TrailingWhitespace(self, original, updated):
        if self._drop(updated.comment):
            self.removed += 1
            return updated.with_changes(comment=None, whitespace=cst.SimpleWhitespace(""))
        return updated

    def leave_EmptyLine(self, original, updated):
        if self._drop(updated.comment):
            self.removed += 1
            return cst.RemoveFromParent()
        return updated


class RemoveCommentsAugmenter(CodeAugmenter):
    name = "remove_comments"

    def __init__(self, params: CodeParams | None = None):
        pass

    def edit(self, source, seed, prompt):
        remover = _CommentRemover()
        new = cst.parse_module(source).visit(remover).code
        params = {"comments_removed": remover.removed}
        return new, {**params, "_unchanged": "no_comments"} if not remover.removed else params


def docstring_literal(text: str, indent: str) -> str:
    """A triple-quoted literal of `text`, re-indented, that cannot end early or escape."""
    body = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = body.splitlines()
    if len(lines) == 1:
        return f'"""{lines[0]}"""'
    rest = "\n".join(indent + ln.strip() if ln.strip() else "" for ln in lines[1:])
    return f'"""{lines[0]}\n{rest}\n{indent}"""'


class _DocstringAdder(cst.CSTTransformer):
    """Adds the docstring to the first function in source order (pre-order, so not a nested one)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.target: cst.FunctionDef | None = None
        self.added: str | None = None
        self.already = False

    def visit_FunctionDef(self, node):
        if self.target is None:
            self.target = node
        return False  # functions nested in the target are never the target

    def leave_FunctionDef(self, original, updated):
        if original is not self.target or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        if updated.get_docstring(clean=False) is not None:
            self.already = True
            return updated
        self.added = updated.name.value
        indent = updated.body.indent if updated.body.indent is not None else "    "
        doc = cst.SimpleStatementLine([cst.Expr(cst.SimpleString(docstring_literal(self.text, indent)))])
        return updated.with_changes(body=updated.body.with_changes(body=[doc, *updated.body.body]))


class AddDocstringAugmenter(CodeAugmenter):
    """Document the record's first function with the record's own prompt (the task it solves)."""

    name = "add_docstring"

    def __init__(self, params: CodeParams | None = None):
        pass

    def edit(self, source, seed, prompt):
        if not prompt or not prompt.strip():
            return source, {"_unchanged": "no_prompt"}
        adder = _DocstringAdder(prompt)
        new = cst.parse_module(source).visit(adder).code
        if adder.already:
            return source, {"_unchanged": "has_docstring"}
        if adder.added is None:
            return source, {"_unchanged": "no_function"}
        return new, {"function": adder.added}


def strip_docstrings(source: str) -> str:
    """The source re-emitted by `ast` without module, class and function docstrings."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)
