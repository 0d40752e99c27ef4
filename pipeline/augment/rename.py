"""Semantics-preserving renaming of local identifiers in Python source.

Why: code-SFT data benefits from augmentations that change surface form while
keeping behaviour identical, so a model learns the program rather than the
variable names.  Renaming is only useful if it is *provably* harmless, so this
module is deliberately conservative: it edits libcst's concrete syntax tree
(comments and layout survive byte-for-byte), renames only names whose every
binding and use is resolved by libcst's scope analysis, and skips anything
where dynamic lookups (``locals()``, ``eval``, frames), declarations
(``global``/``nonlocal``) or public interfaces (parameters, nested ``def``
names) could observe the change.  ``alpha.alpha_equivalent`` is an independent,
``ast``-based check that two sources differ only by local names; use it as a
quality gate on augmented output.
"""

from __future__ import annotations

import builtins
import keyword
import random
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import (
    Assignment,
    ComprehensionScope,
    GlobalScope,
    MetadataWrapper,
    Scope,
    ScopeProvider,
)

from pipeline.augment.rename_scopes import _ancestors, _NameCollector, _renamable_scope, _root, _scope_label

__all__ = ["RenameError", "RenameReport", "rename_identifiers", "rename_report"]

# Ordinary words so that renamed code still reads like real code (not ``var_1``).
VOCABULARY: tuple[str, ...] = (
    "value", "item", "count", "total", "result", "index", "node", "entry", "buffer",
    "current", "label", "record", "chunk", "offset", "limit", "size", "key", "data",
    "text", "token", "path", "name_", "flag", "acc", "part", "piece", "step", "width",
    "height", "target", "source", "state", "temp", "element", "pair", "row", "column",
    "line", "word", "char", "prefix", "suffix", "head", "tail", "left", "right",
    "start", "stop", "end", "first", "last", "low", "high", "delta", "ratio", "score",
    "weight", "number", "amount", "payload", "message", "field_", "parts", "items",
    "values", "keys", "entries", "nodes", "lines", "words", "tokens", "pieces", "cursor",
    "position", "marker", "counter", "mapping", "lookup", "table", "queue", "stack",
    "pending", "seen", "visited", "candidate", "choice", "option", "member", "group",
    "bucket", "block", "frame", "window", "span", "segment", "slot", "cell",
)

_PROTECTED = frozenset({"self", "cls", "_"})
_BUILTINS = frozenset(dir(builtins))


class RenameError(ValueError):
    """Raised when the input is not parsable Python; the message carries line/column."""


@dataclass
class RenameReport:
    """Outcome of a rename: the new text plus how much of the eligible surface changed.

    ``mapping`` lists ``(scope name, old, new)`` so callers can audit or invert renames.
    """

    source: str
    eligible: int = 0
    renamed: int = 0
    mapping: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.renamed / self.eligible if self.eligible else 0.0


def _parse(source: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise RenameError(f"cannot parse source at line {exc.raw_line}, column {exc.raw_column}: {exc.message}") from exc


class _Renamer(cst.CSTTransformer):
    def __init__(self, new_names: dict[int, str]) -> None:
        self.new_names = new_names

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        new = self.new_names.get(id(original_node))
        return updated_node.with_changes(value=new) if new else updated_node


def rename_report(source: str, *, seed: int = 0, rename_parameters: bool = False) -> RenameReport:
    """Rename local identifiers and report eligible/renamed counts and the mapping."""
    wrapper = MetadataWrapper(_parse(source))
    module = wrapper.module
    scope_of = wrapper.resolve(ScopeProvider)
    names = _NameCollector()
    module.visit(names)

    # Scopes (and all scopes nested in them, plus enclosing ones) touching dynamic lookups.
    tainted: set[Scope] = set()
    for node in names.dynamic_nodes:
        scope = scope_of.get(node)
        if scope is not None:
            tainted.add(scope)
            tainted.update(_ancestors(scope))
    tainted = {s for s in tainted if not isinstance(s, GlobalScope)}
    all_scopes = [s for s in dict.fromkeys(scope_of.values()) if s is not None]
    for scope in all_scopes:
        if any(anc in tainted for anc in _ancestors(scope)):
            tainted.add(scope)

    # Variable Name nodes grouped by (scope, spelling) for the consistency check.
    by_scope: dict[tuple[int, str], set[int]] = {}
    for node, scope in scope_of.items():
        if isinstance(node, cst.Name) and scope is not None and id(node) not in names.non_variable:
            by_scope.setdefault((id(scope), node.value), set()).add(id(node))

    # libcst binds a walrus inside a comprehension to the comprehension, but Python binds
    # it in the enclosing function: leave that name alone in the whole function tree.
    walrus_blocked = set()
    for node, scope in scope_of.items():
        if id(node) in names.walrus_targets and isinstance(scope, ComprehensionScope):
            walrus_blocked.add((id(_root(scope)), node.value))

    rng = random.Random(seed)
    words = list(VOCABULARY)
    rng.shuffle(words)
    taken: dict[int, set[str]] = {}
    forbidden = names.spellings | _BUILTINS | set(keyword.kwlist) | set(keyword.softkwlist)
    report = RenameReport(source=source)
    new_names: dict[int, str] = {}

    for scope in (s for s in all_scopes if _renamable_scope(s)):
        bindings: dict[str, list[Assignment]] = {}
        for assignment in scope.assignments:
            bindings.setdefault(assignment.name, []).append(assignment)
        for name in sorted(bindings):
            group = bindings[name]
            if name in _PROTECTED or (name.startswith("__") and name.endswith("__")):
                continue
            if any(type(a) is not Assignment or isinstance(a.node, (cst.FunctionDef, cst.ClassDef)) for a in group):
                continue  # imports and def/class names are interfaces, never candidates
            is_param = any(isinstance(a.node, cst.Param) for a in group)
            if is_param and not rename_parameters:
                continue
            report.eligible += 1
            nodes = _collect_nodes(group)
            if (
                nodes is None
                or scope in tainted
                or name in names.declared
                or name in _BUILTINS
                or (id(_root(scope)), name) in walrus_blocked
                or not _consistent(nodes, group, scope, name, scope_of, by_scope, tainted)
            ):
                continue
            pool = taken.setdefault(id(_root(scope)), set())
            new = _pick(words, forbidden | pool, rng)
            pool.add(new)
            for node in nodes:
                new_names[id(node)] = new
            report.renamed += 1
            report.mapping.append((_scope_label(scope), name, new))

    report.source = module.visit(_Renamer(new_names)).code if new_names else source
    return report


def _collect_nodes(group: list[Assignment]) -> list[cst.Name] | None:
    """Binding and use Name nodes for one variable, or None if any is not a plain Name.

    ``def``/``class``/import bindings and string-annotation uses return None:
    renaming them would change ``__name__``, module interfaces or string text.
    """
    nodes: list[cst.Name] = []
    for assignment in group:
        if type(assignment) is not Assignment:
            return None
        target = assignment.node
        if isinstance(target, cst.Param):
            target = target.name
        if not isinstance(target, cst.Name):
            return None
        nodes.append(target)
        for access in assignment.references:
            if not isinstance(access.node, cst.Name):
                return None
            nodes.append(access.node)
    return nodes


def _consistent(nodes, group, scope, name, scope_of, by_scope, tainted) -> bool:
    """Every variable occurrence of ``name`` in each affected scope must be in ``nodes``.

    This catches bindings libcst does not record (e.g. ``match`` captures) and
    closures read from a scope we may not touch: rename all or nothing.
    """
    ids = {id(n) for n in nodes}
    scopes = {scope}
    for assignment in group:
        scopes.update(access.scope for access in assignment.references)
    for other in scopes:
        if other in tainted:
            return False
        if not by_scope.get((id(other), name), set()) <= ids:
            return False
    return True


def _pick(words: list[str], forbidden: set[str], rng: random.Random) -> str:
    for word in words:
        if word not in forbidden:
            return word
    while True:  # vocabulary exhausted: combine two words, e.g. ``item_count``
        combo = f"{rng.choice(VOCABULARY).rstrip('_')}_{rng.choice(VOCABULARY).rstrip('_')}"
        if combo not in forbidden:
            return combo


def rename_identifiers(source: str, *, seed: int = 0, rename_parameters: bool = False) -> str:
    """Return ``source`` with local identifiers consistently renamed (see module docs)."""
    return rename_report(source, seed=seed, rename_parameters=rename_parameters).source
