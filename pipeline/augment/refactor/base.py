"""The rewrite contract: find the sites of one refactoring, prove or refuse each, rewrite the chosen.

A rewrite is a libcst transformer over a module whose metadata (`Facts`) was resolved once. For
every place its pattern matches (a site) it says, before changing anything, whether it can prove
the change keeps the program's behaviour; when it cannot it names the reason (`side_effects`,
`loop_variable_used`, `type_unknown`, ...). The driver visits twice: once to list the sites, once
to rewrite the chosen eligible ones (all, or one picked by the seed). Nodes it does not replace
are kept as they were, so comments and layout elsewhere survive byte for byte.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Literal, Sequence

import libcst as cst

from pipeline.augment.refactor.facts import Facts


@dataclass
class Site:
    line: int
    refused: str | None = None  # why this site cannot be rewritten; None: it can


@dataclass
class RewriteResult:
    source: str
    rewrite: str
    applied: list[int] = field(default_factory=list)  # lines of the rewritten sites
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, reason) of every refused site


class Rewrite(cst.CSTTransformer):
    """One named, semantics-preserving refactoring. Subclasses call `self.site(node, reason)` at
    each pattern match and rewrite only when it returns True."""

    name: ClassVar[str]
    inverse: ClassVar[str]  # the rewrite that undoes this one (the equivalence gate's normal form)

    def __init__(self, facts: Facts, chosen: set[int] | None, keep_comments: bool = True):
        super().__init__()
        self.facts = facts
        self.keep_comments = keep_comments  # False: the gate's normal form, where comments do not count
        self.chosen = chosen  # indices into self.sites to rewrite; None: every eligible site
        self.sites: list[Site] = []

    def loses_comments(self, node: cst.CSTNode) -> bool:
        """A rewrite that would drop a comment inside `node` refuses, unless comments do not count."""
        return self.keep_comments and has_comments(node)

    def site(self, node: cst.CSTNode, refused: str | None) -> bool:
        """Record a site (refused: the reason it cannot be proven); True when it is to be rewritten."""
        self.sites.append(Site(self.facts.line(node), refused))
        return refused is None and (self.chosen is None or len(self.sites) - 1 in self.chosen)


def run_rewrite(source: str | Facts, rewrite: type[Rewrite], seed: int = 0,
                sites: Literal["all", "one"] = "all", keep_comments: bool = True) -> RewriteResult:
    """Apply `rewrite` at all its eligible sites, or at one chosen by `seed`; parse errors propagate."""
    facts = source if isinstance(source, Facts) else Facts(cst.parse_module(source))
    probe = rewrite(facts, chosen=set(), keep_comments=keep_comments)
    facts.module.visit(probe)
    refused = [(s.line, s.refused) for s in probe.sites if s.refused]
    eligible = [i for i, s in enumerate(probe.sites) if s.refused is None]
    if not eligible:
        return RewriteResult(facts.module.code, rewrite.name, [], refused)
    chosen = set(eligible) if sites == "all" else {random.Random(seed).choice(eligible)}
    new = facts.module.visit(rewrite(facts, chosen, keep_comments)).code
    return RewriteResult(new, rewrite.name, [probe.sites[i].line for i in sorted(chosen)], refused)


class BodyRewrite(Rewrite):
    """Rewrites over consecutive statements of a block."""

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        return updated.with_changes(body=self.rewrite_body(original.body, updated.body))

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        return updated.with_changes(body=self.rewrite_body(original.body, updated.body))

    def rewrite_body(self, original: Sequence[cst.BaseStatement], updated: Sequence[cst.BaseStatement]) -> list:
        raise NotImplementedError  # each subclass says what it does with a block's statements

    @staticmethod
    def merge_pairs(original: Sequence[cst.BaseStatement], updated: Sequence[cst.BaseStatement],
                    merge: Callable[[int], cst.BaseStatement | None]) -> list:
        """The block with each pair of statements i, i + 1 that `merge(i)` turns into one replaced by it."""
        out, i = [], 0
        while i < len(original):
            merged = merge(i) if i + 1 < len(original) else None
            if merged is not None:
                out.append(merged)
                i += 2
            else:
                out.append(updated[i])
                i += 1
        return out


# ---- shared node predicates --------------------------------------------------------------------


def has_comments(node: cst.CSTNode) -> bool:
    """Whether any comment lies inside `node` (a rewrite that would drop it refuses instead)."""
    found = False

    class Find(cst.CSTVisitor):
        def visit_Comment(self, _: cst.Comment) -> None:
            nonlocal found
            found = True

    node.visit(Find())
    return found


def names_in(node: cst.CSTNode) -> set[str]:
    """Every identifier spelled inside `node` (attributes' names included: a superset is safe)."""
    out: set[str] = set()

    class Find(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            out.add(n.value)

    node.visit(Find())
    return out


_SUSPENDS = (cst.Yield, cst.Await, cst.NamedExpr, cst.Lambda)


def has_any(node: cst.CSTNode, types: tuple[type, ...]) -> bool:
    found = False

    class Find(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            nonlocal found
            if isinstance(n, types):
                found = True
            return not found

    node.visit(Find())
    return found


def suspends_or_binds(node: cst.CSTNode) -> bool:
    """yield, await, := or lambda inside: moving such an expression changes when or where it runs."""
    return has_any(node, _SUSPENDS)


# ---- parentheses -------------------------------------------------------------------------------

# Expressions that bind tighter than any operator: safe as an operand without parentheses.
ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float, cst.SimpleString,
         cst.ConcatenatedString, cst.FormattedString, cst.List, cst.Tuple, cst.Dict, cst.Set)


def parenthesized(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def wrapped(expr: cst.BaseExpression, types: tuple[type, ...]) -> cst.BaseExpression:
    """In parentheses when it is one of `types` and has none (where the grammar needs them)."""
    return parenthesized(expr) if isinstance(expr, types) and not expr.lpar else expr


def unwrapped(expr: cst.BaseExpression) -> cst.BaseExpression:
    """Without the one pair of parentheses a conditional expression or lambda needed inside an
    expression (a statement of its own does not)."""
    if isinstance(expr, (cst.IfExp, cst.Lambda)) and len(expr.lpar) == 1:
        return expr.with_changes(lpar=[], rpar=[])
    return expr


def as_operand(expr: cst.BaseExpression) -> cst.BaseExpression:
    """In parentheses unless it is an atom (a bare tuple gets them too)."""
    if not isinstance(expr, ATOMS) or isinstance(expr, cst.Tuple) and not expr.lpar:
        return parenthesized(expr)
    return expr


def len_argument(expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """`s` of a call `len(s)` (one positional argument), else None."""
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "len" \
            and len(expr.args) == 1 and not expr.args[0].keyword and not expr.args[0].star:
        return expr.args[0].value
    return None
