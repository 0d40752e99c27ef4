"""Where a statement stands: its function, whether an exception inside it can be observed, and
which names its function reads or binds. Shared by the rewrites that move or merge statements."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import FunctionScope

from pipeline.augment.refactor.base import names_in
from pipeline.augment.refactor.facts import Facts


def single_assign(stmt: cst.CSTNode) -> tuple[str, cst.BaseExpression] | None:
    """(name, value) of a line `name = value` with nothing else on it."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    assign = stmt.body[0]
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    return (target.value, assign.value) if isinstance(target, cst.Name) else None


def enclosing_function(facts: Facts, node: cst.CSTNode) -> cst.FunctionDef | None:
    """The function whose body holds `node` (None at module or class level)."""
    parent = facts.parent(node)
    while parent is not None:
        if isinstance(parent, cst.FunctionDef):
            return parent
        if isinstance(parent, (cst.ClassDef, cst.Lambda)):
            return None
        parent = facts.parent(parent)
    return None


def in_function_scope(facts: Facts, node: cst.CSTNode) -> bool:
    return isinstance(facts.scope(node), FunctionScope) and enclosing_function(facts, node) is not None


def guarded(facts: Facts, node: cst.CSTNode) -> bool:
    """Inside a try or with block of its function: an exception raised half-way could be caught
    there and the half-done state read afterwards."""
    parent = facts.parent(node)
    while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Module)):
        if isinstance(parent, (cst.Try, cst.TryStar, cst.With)):
            return True
        parent = facts.parent(parent)
    return False


def spelled_outside(function: cst.FunctionDef, inside: list[cst.CSTNode], name: str) -> bool:
    """Whether `name` is spelled anywhere in the function other than within the `inside` nodes."""
    count = 0

    class Count(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            nonlocal count
            if any(node is n for n in inside):
                return False
            if isinstance(node, cst.Name) and node.value == name:
                count += 1
            return True

    function.body.visit(Count())
    for p in (*function.params.params, *function.params.kwonly_params, *function.params.posonly_params):
        count += p.name.value == name
    for p in (function.params.star_arg, function.params.star_kwarg):
        count += isinstance(p, cst.Param) and p.name.value == name
    return count > 0


def seen_by_nested(function: cst.FunctionDef, name: str) -> bool:
    """Whether a function or lambda nested in `function` spells `name` (it could read it while
    the statements run, through a call)."""
    found = False

    class Find(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            nonlocal found
            found = found or name in names_in(node)
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            nonlocal found
            found = found or name in names_in(node)
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            nonlocal found
            found = found or name in names_in(node)
            return False

    function.body.visit(Find())
    return found


def declared_outside(function: cst.FunctionDef, name: str) -> bool:
    """`global name` or `nonlocal name` in the function: its binding is shared with other code."""
    found = False

    class Find(cst.CSTVisitor):
        def visit_Global(self, node: cst.Global) -> None:
            nonlocal found
            found = found or any(n.name.value == name for n in node.names)

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            nonlocal found
            found = found or any(n.name.value == name for n in node.names)

    function.body.visit(Find())
    return found


def target_names(target: cst.BaseExpression) -> list[str] | None:
    """The plain names a for-target binds, or None when it also assigns attributes or items."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        out: list[str] = []
        for el in target.elements:
            if isinstance(el, cst.StarredElement):
                return None
            inner = target_names(el.value)
            if inner is None:
                return None
            out += inner
        return out
    return None
