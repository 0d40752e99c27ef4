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
from typing import ClassVar, Literal, Sequence

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
        raise NotImplementedError


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
