"""Every rewrite by name, and the equivalence gate that undoes one to check it."""

from __future__ import annotations

import ast

import libcst as cst

from pipeline.augment.refactor.base import Rewrite, run_rewrite
from pipeline.augment.refactor.extract import ExtractSubexpression, InlineVariable
from pipeline.augment.refactor.conditionals import ConditionalToIf, GuardClause, IfToConditional, NestedIf
from pipeline.augment.refactor.loops import ComprehensionToLoop, LoopToComprehension
from pipeline.augment.refactor.operators import (
    AugmentedAssignment, ExpandedAssignment, LenToTruth, Negation, NegatedOperator, TruthToLen,
)
from pipeline.augment.refactor.params import REWRITE_NAMES
from pipeline.augment.refactor.strings import FormatToFString, FormatToPercent, FStringToFormat, PercentToFormat

REWRITES: dict[str, type[Rewrite]] = {r.name: r for r in (
    LoopToComprehension, ComprehensionToLoop, IfToConditional, ConditionalToIf, GuardClause, NestedIf,
    AugmentedAssignment, ExpandedAssignment, NegatedOperator, Negation, LenToTruth, TruthToLen,
    FormatToFString, FStringToFormat, PercentToFormat, FormatToPercent, ExtractSubexpression, InlineVariable,
)}
assert tuple(REWRITES) == REWRITE_NAMES, "params.REWRITE_NAMES must list the rewrites in registry order"


def undo(source: str, rewrite: str) -> str:
    """The source with `rewrite`'s inverse applied at every site it can prove (comments may go:
    they do not count in the comparison)."""
    return run_rewrite(source, REWRITES[REWRITES[rewrite].inverse], keep_comments=False).source


def equivalent(before: str, after: str, rewrite: str) -> bool:
    """The equivalence gate of a refactoring: undone on both sides, the syntax trees are equal (up
    to a consistent renaming of locals).
    A rewrite that changed anything it does not model (an `else` dropped, a name swapped) leaves
    a difference its inverse cannot take back."""
    from pipeline.augment.alpha import alpha_equivalent

    try:
        a, b = undo(before, rewrite), undo(after, rewrite)
        # up to a consistent renaming of locals: an extracted variable comes back under its own name
        return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b)) or alpha_equivalent(a, b)
    except (cst.ParserSyntaxError, SyntaxError, ValueError):
        return False
