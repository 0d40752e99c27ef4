"""Operator forms into each other, only where the types make them the same.

- `x = x + y` <-> `x += y`: the same for a name whose every binding in its function is a value of
  an immutable builtin type (int, float, str, tuple, ...: they have no in-place operators, so `+=`
  falls back to `+`); for a list it would mutate the object other names share (`type_unknown`).
- `not a is b` <-> `a is not b`, `not a in b` <-> `a not in b`: always the same (`is` cannot be
  overloaded; `not in` is defined as the negation of `in`). `not a == b` <-> `a != b` only when
  both sides are proven builtin numbers or strings (a class may define `__ne__` apart from
  `__eq__`).
- `len(s) == 0` <-> `not s`: the same for builtin sequences (their truth is their length); only
  where `s` is proven one, here or by its parameter's annotation, and `len` is the builtin.
"""

from __future__ import annotations

import libcst as cst

from pipeline.augment.refactor.base import Rewrite, as_operand, len_argument, parenthesized
from pipeline.augment.refactor.facts import IMMUTABLE, NUMBERS, SEQUENCES

_AUGMENTED = {cst.Add: cst.AddAssign, cst.Subtract: cst.SubtractAssign, cst.Multiply: cst.MultiplyAssign,
              cst.Divide: cst.DivideAssign, cst.FloorDivide: cst.FloorDivideAssign, cst.Modulo: cst.ModuloAssign,
              cst.Power: cst.PowerAssign}
_PLAIN = {v: k for k, v in _AUGMENTED.items()}

def _immutable_local(rewrite: Rewrite, name: cst.Name, node: cst.CSTNode, op: type) -> str | None:
    kind = rewrite.facts.kind(name, rewrite.facts.scope(node))
    if kind is None or kind not in IMMUTABLE:
        return "type_unknown"
    if kind not in NUMBERS and op is not cst.Add:
        return "type_unknown"
    return None


class AugmentedAssignment(Rewrite):
    name = "augmented_assignment"
    inverse = "expanded_assignment"

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign):
        if len(original.targets) != 1 or not isinstance(original.targets[0].target, cst.Name):
            return updated
        target, value = original.targets[0].target, original.value
        if not (isinstance(value, cst.BinaryOperation) and type(value.operator) in _AUGMENTED
                and isinstance(value.left, cst.Name) and value.left.value == target.value and not value.lpar):
            return updated
        refused = "comments_inside" if self.loses_comments(value) else _immutable_local(self, target, original,
                                                                                  type(value.operator))
        if not self.site(original, refused):
            return updated
        new_value = updated.value
        return cst.AugAssign(target=updated.targets[0].target, operator=_AUGMENTED[type(value.operator)](),
                             value=_unparen(new_value.right))


class ExpandedAssignment(Rewrite):
    name = "expanded_assignment"
    inverse = "augmented_assignment"

    def leave_AugAssign(self, original: cst.AugAssign, updated: cst.AugAssign):
        if type(original.operator) not in _PLAIN or not isinstance(original.target, cst.Name):
            return updated
        op = _PLAIN[type(original.operator)]
        refused = "comments_inside" if self.loses_comments(original.value) else _immutable_local(
            self, original.target, original, op)
        if not self.site(original, refused):
            return updated
        right = as_operand(updated.value)
        return cst.Assign(targets=[cst.AssignTarget(updated.target)],
                          value=cst.BinaryOperation(left=cst.Name(updated.target.value), operator=op(), right=right))


def _unparen(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`x = x - (a + b)` gives `x -= a + b`: the right side of an augmented assignment is whole."""
    if len(expr.lpar) == 1 and not isinstance(expr, (cst.Tuple, cst.GeneratorExp, cst.Yield)):
        return expr.with_changes(lpar=[], rpar=[])
    return expr


# ---- negations ---------------------------------------------------------------------------------

_NEGATED = {cst.Is: cst.IsNot, cst.In: cst.NotIn, cst.Equal: cst.NotEqual}
_POSITIVE = {v: k for k, v in _NEGATED.items()}


def _scalar(rewrite: Rewrite, expr: cst.BaseExpression, node: cst.CSTNode) -> bool:
    return rewrite.facts.kind(expr, rewrite.facts.scope(node)) in NUMBERS | {"str", "bool"}


def _equality_refusal(rewrite: Rewrite, comparison: cst.Comparison, op: type, node: cst.CSTNode) -> str | None:
    if op is not cst.Equal and op is not cst.NotEqual:
        return None
    both = _scalar(rewrite, comparison.left, node) and _scalar(rewrite, comparison.comparisons[0].comparator, node)
    return None if both else "type_unknown"


class NegatedOperator(Rewrite):
    """`not a is b` into `a is not b` (and `in`, and `==` on proven scalars)."""

    name = "negated_operator"
    inverse = "negation"

    def leave_UnaryOperation(self, original: cst.UnaryOperation, updated: cst.UnaryOperation):
        inner = original.expression
        if not (isinstance(original.operator, cst.Not) and isinstance(inner, cst.Comparison)
                and len(inner.comparisons) == 1 and type(inner.comparisons[0].operator) in _NEGATED):
            return updated
        op = type(inner.comparisons[0].operator)
        refused = "comments_inside" if self.loses_comments(original) else _equality_refusal(self, inner, op, original)
        if not self.site(original, refused):
            return updated
        new_inner = updated.expression
        target = new_inner.comparisons[0].with_changes(operator=_NEGATED[op]())
        return new_inner.with_changes(comparisons=[target], lpar=updated.lpar, rpar=updated.rpar)


class Negation(Rewrite):
    """`a is not b` into `not (a is b)` (and `not in`, and `!=` on proven scalars)."""

    name = "negation"
    inverse = "negated_operator"

    def leave_Comparison(self, original: cst.Comparison, updated: cst.Comparison):
        if len(original.comparisons) != 1 or type(original.comparisons[0].operator) not in _POSITIVE:
            return updated
        op = type(original.comparisons[0].operator)
        refused = "comments_inside" if self.loses_comments(original) else _equality_refusal(self, original, op, original)
        if not self.site(original, refused):
            return updated
        positive = parenthesized(updated.with_changes(
            comparisons=[updated.comparisons[0].with_changes(operator=_POSITIVE[op]())]))
        return cst.UnaryOperation(operator=cst.Not(), expression=positive, lpar=updated.lpar, rpar=updated.rpar)


# ---- emptiness ---------------------------------------------------------------------------------


def _sequence_refusal(rewrite: Rewrite, expr: cst.BaseExpression, node: cst.CSTNode) -> str | None:
    if not rewrite.facts.is_builtin("len"):
        return "builtin_shadowed"
    kind = rewrite.facts.kind(expr, rewrite.facts.scope(node), annotations=True)
    return None if kind in SEQUENCES else "type_unknown"


class LenToTruth(Rewrite):
    """`len(s) == 0` into `not s`."""

    name = "len_to_truth"
    inverse = "truth_to_len"

    def leave_Comparison(self, original: cst.Comparison, updated: cst.Comparison):
        if len(original.comparisons) != 1 or not isinstance(original.comparisons[0].operator, cst.Equal):
            return updated
        zero = original.comparisons[0].comparator
        seq = len_argument(original.left)
        if seq is None or not (isinstance(zero, cst.Integer) and zero.value == "0"):
            return updated
        refused = "comments_inside" if self.loses_comments(original) else _sequence_refusal(self, seq, original)
        if not self.site(original, refused):
            return updated
        operand = as_operand(len_argument(updated.left))
        return cst.UnaryOperation(operator=cst.Not(), expression=operand, lpar=updated.lpar, rpar=updated.rpar)


class TruthToLen(Rewrite):
    """`not s` into `len(s) == 0`."""

    name = "truth_to_len"
    inverse = "len_to_truth"

    def leave_UnaryOperation(self, original: cst.UnaryOperation, updated: cst.UnaryOperation):
        if not isinstance(original.operator, cst.Not) or isinstance(original.expression, cst.Comparison):
            return updated
        if self.facts.kind(original.expression, self.facts.scope(original), annotations=True) is None:
            return updated  # not a site: `not` of anything but a proven sequence is left alone silently
        refused = "comments_inside" if self.loses_comments(original) else _sequence_refusal(
            self, original.expression, original)
        if not self.site(original, refused):
            return updated
        call = cst.Call(func=cst.Name("len"), args=[cst.Arg(_unparen(updated.expression))])
        return cst.Comparison(left=call, comparisons=[cst.ComparisonTarget(cst.Equal(), cst.Integer("0"))],
                              lpar=updated.lpar, rpar=updated.rpar)
