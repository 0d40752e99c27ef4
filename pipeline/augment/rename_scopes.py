"""What the identifier renamer may touch: which Name nodes are variables, which scopes read
their variables by name at run time, and where new names are allocated.

Split from rename.py; libcst's scope analysis does the binding work, this module adds the
Python facts it does not model (keyword arguments, attributes, def/class names, dynamic lookups).
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ComprehensionScope, FunctionScope, GlobalScope, Scope

# Names whose use means a scope's variables may be read by name at run time.
_DYNAMIC = frozenset({"locals", "vars", "eval", "exec", "dir", "_getframe", "currentframe", "f_locals"})


class _NameCollector(cst.CSTVisitor):
    """Collects every identifier spelling and the Name nodes that are *not* variables.

    Attribute names, keyword-argument names, import paths and ``def``/``class``
    names share the Name node type with variables; they must never be renamed
    and are excluded from the consistency check below.
    """

    def __init__(self) -> None:
        self.spellings: set[str] = set()
        self.non_variable: set[int] = set()
        self.dynamic_nodes: list[cst.CSTNode] = []
        self.declared: set[str] = set()  # global/nonlocal anywhere
        self.walrus_targets: set[int] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.spellings.add(node.value)
        if node.value in _DYNAMIC and node.value not in ("dir", "vars"):
            self.dynamic_nodes.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        # ``dir(obj)`` / ``vars(obj)`` inspect an object; only the no-argument forms read locals.
        if isinstance(node.func, cst.Name) and node.func.value in ("dir", "vars") and not node.args:
            self.dynamic_nodes.append(node.func)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.non_variable.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.non_variable.add(id(node.keyword))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.non_variable.add(id(node.name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.non_variable.add(id(node.name))

    def visit_MatchKeywordElement(self, node: cst.MatchKeywordElement) -> None:
        self.non_variable.add(id(node.key))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.walrus_targets.add(id(node.target))

    def visit_Global(self, node: cst.Global) -> None:
        self.declared.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.declared.update(item.name.value for item in node.names)

    def visit_Import(self, node: cst.Import) -> bool:
        return False  # nothing inside an import is a renamable variable

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False


def _renamable_scope(scope: Scope) -> bool:
    return isinstance(scope, (FunctionScope, ComprehensionScope))


def _ancestors(scope: Scope) -> list[Scope]:
    out = []
    while not isinstance(scope, GlobalScope):
        scope = scope.parent
        out.append(scope)
    return out


def _root(scope: Scope) -> Scope:
    """Outermost function/comprehension scope enclosing ``scope``.

    New names are allocated per root so a name chosen in an outer function can
    never shadow (or be shadowed by) one chosen in a nested function.
    """
    root = scope
    for anc in _ancestors(scope):
        if _renamable_scope(anc):
            root = anc
    return root


def _scope_label(scope: Scope) -> str:
    return getattr(scope, "name", None) or type(scope).__name__
