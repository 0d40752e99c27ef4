"""Pure, total expressions: the ones whose evaluation may move (earlier, once, or into a use)
without anyone noticing, because they can neither fail nor have an effect.

Proven locals bound before the statement (an unbound one would raise at the new place),
constants, `len()` of a proven builtin sequence, `+ - *` and unary minus on proven numbers, and
`+` on strings. Shared by the extract and inline rewrites, with the small node helpers they use.
"""

from __future__ import annotations

import libcst as cst

from pipeline.augment.refactor.base import Rewrite, len_argument
from pipeline.augment.refactor.context import single_assign
from pipeline.augment.refactor.facts import IMMUTABLE, NUMBERS, SEQUENCES

_ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply)


class Purity:
    """Whether an expression is pure and total here, and whether it reads a mutable value."""

    def __init__(self, rewrite: Rewrite, statement: cst.CSTNode):
        self.facts = rewrite.facts
        self.statement = statement
        self.scope = rewrite.facts.scope(statement)
        self.mutable = False

    def kind(self, expr: cst.BaseExpression) -> str | None:
        """The proven type of a pure, total expression, or None."""
        if isinstance(expr, (cst.Integer, cst.Float)):
            return "int" if isinstance(expr, cst.Integer) else "float"
        if isinstance(expr, cst.SimpleString):
            return self.facts.kind(expr, self.scope)
        if isinstance(expr, cst.Name):
            found = self.facts.kind(expr, self.scope, annotations=True)
            if found is None or not bound_before(self.facts, self.statement, expr.value):
                return None  # an unbound local would raise earlier, before effects it used to follow
            self.mutable = self.mutable or found not in IMMUTABLE
            return found
        if len_argument(expr) is not None:
            inner = self.kind(len_argument(expr))
            return "int" if inner in SEQUENCES and self.facts.is_builtin("len") else None
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
            inner = self.kind(expr.expression)
            return inner if inner in NUMBERS else None
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, _ARITHMETIC):
            left, right = self.kind(expr.left), self.kind(expr.right)
            if left in NUMBERS and right in NUMBERS:
                return "float" if "float" in (left, right) else "int"
            if isinstance(expr.operator, cst.Add) and left == right == "str":
                return "str"
        return None


def bound_before(facts, statement: cst.CSTNode, name: str) -> bool:
    """`name` is a parameter of the function, or assigned by a plain `name = ...` line that comes
    before `statement` in its block or in a block enclosing it (so it is bound whenever it runs)."""
    node = statement
    parent = facts.parent(node)
    while parent is not None:
        if isinstance(parent, cst.FunctionDef):
            params = parent.params
            every = [*params.posonly_params, *params.params, *params.kwonly_params]
            return any(p.name.value == name for p in every)
        if isinstance(parent, (cst.IndentedBlock, cst.Module)):
            for sibling in parent.body:
                if sibling is node:
                    break
                assigned = single_assign(sibling)
                if assigned is not None and assigned[0] == name:
                    return True
        node, parent = parent, facts.parent(parent)
    return False


def subexpressions(node: cst.CSTNode) -> list[cst.BaseExpression]:
    found: list[cst.BaseExpression] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            if isinstance(n, (cst.Call, cst.BinaryOperation, cst.UnaryOperation)):
                found.append(n)
            return not isinstance(n, (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp))

    node.visit(Collect())
    return found


def code_of(expr: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(expr.with_changes(lpar=[], rpar=[]) if hasattr(expr, "lpar") else expr)


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Collect(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            found.append(n)

    node.visit(Collect())
    return found


def spellings(node: cst.CSTNode, name: str) -> int:
    count = 0

    class Count(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            nonlocal count
            count += n.value == name

    node.visit(Count())
    return count
