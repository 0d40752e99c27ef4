"""What a rewrite may assume about a module: scopes, parents, lines, and the few types it can prove.

A rewrite is only as safe as the facts behind it. This module proves three kinds of fact from
the source alone, and nothing more:
- a builtin (`len`, `set`, `str`, ...) is the builtin: no binding of that name anywhere in the
  module, and no star import that could bring one in;
- a local name always holds a value of one builtin type: every binding of it in its function
  is a literal, a comprehension, an arithmetic of such values, or a call of an unshadowed
  builtin constructor (`for i in range(...)` binds ints). It is not a parameter and is not
  bound by `global`, `nonlocal`, `del`, `with`, `except` or `import`;
- a parameter annotated with a builtin sequence type (`str`, `list[int]`, `List[str]`, ...) holds
  one: the annotation is the function's contract (trusted for sequences only, where a caller
  breaking it would break the function as written too).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import libcst as cst
from libcst.metadata import (
    FunctionScope, MetadataWrapper, ParentNodeProvider, PositionProvider, Scope, ScopeProvider,
)

NUMBERS = frozenset({"int", "float"})
SEQUENCES = frozenset({"str", "bytes", "list", "tuple", "dict", "set", "frozenset", "range"})
IMMUTABLE = NUMBERS | frozenset({"str", "bytes", "tuple", "frozenset", "bool"})
# Builtin calls whose result type is fixed (when the builtin is not shadowed).
_CALL_TYPES = {"int": "int", "float": "float", "str": "str", "bytes": "bytes", "list": "list", "tuple": "tuple",
               "dict": "dict", "set": "set", "frozenset": "frozenset", "len": "int", "sorted": "list",
               "repr": "str", "ord": "int", "chr": "str", "bool": "bool", "range": "range"}
# typing's aliases of the builtin containers, as annotations spell them.
_ANNOTATION_TYPES = {"List": "list", "Tuple": "tuple", "Dict": "dict", "Set": "set", "FrozenSet": "frozenset",
                     "Sequence": None, "Iterable": None}


class Facts:
    """Metadata of one parsed module, resolved once and shared by every rewrite that reads it."""

    def __init__(self, module: cst.Module):
        self.wrapper = MetadataWrapper(module)
        self.module = self.wrapper.module
        self.scopes = self.wrapper.resolve(ScopeProvider)
        self.parents = self.wrapper.resolve(ParentNodeProvider)
        self.positions = self.wrapper.resolve(PositionProvider)
        self._types: dict[int, dict[str, str]] = {}

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    @cached_property
    def spellings(self) -> set[str]:
        """Every identifier spelled in the module: new names must avoid all of them."""
        names: set[str] = set()

        class Collect(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                names.add(node.value)

        self.module.visit(Collect())
        return names

    @cached_property
    def _bound_names(self) -> tuple[set[str], bool]:
        """Names bound anywhere (any scope), and whether a star import makes that unknowable."""
        bound: set[str] = set()
        star = False
        for scope in dict.fromkeys(self.scopes.values()):
            if scope is not None:
                bound.update(a.name for a in scope.assignments)

        class Star(cst.CSTVisitor):
            def visit_ImportStar(self, node: cst.ImportStar) -> None:
                nonlocal star
                star = True

        self.module.visit(Star())
        return bound, star

    def is_builtin(self, name: str) -> bool:
        bound, star = self._bound_names
        return not star and name not in bound

    def scope(self, node: cst.CSTNode) -> Scope | None:
        return self.scopes.get(node)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(node)

    # ---- types ------------------------------------------------------------------------------

    def kind(self, expr: cst.BaseExpression, scope: Scope | None, annotations: bool = False) -> str | None:
        """The builtin type `expr` is proven to have, or None; `annotations`: trust a parameter's
        annotation of a builtin sequence type."""
        if isinstance(expr, (cst.Integer,)):
            return "int"
        if isinstance(expr, (cst.Float,)):
            return "float"
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            prefix = expr.prefix if isinstance(expr, (cst.SimpleString, cst.FormattedString)) else ""
            return "bytes" if "b" in prefix.lower() else "str"
        if isinstance(expr, (cst.List, cst.ListComp)):
            return "list"
        if isinstance(expr, cst.Tuple):
            return "tuple"
        if isinstance(expr, (cst.Dict, cst.DictComp)):
            return "dict"
        if isinstance(expr, (cst.Set, cst.SetComp)):
            return "set"
        if isinstance(expr, cst.Name) and expr.value in ("True", "False"):
            return "bool"
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name):
            name = expr.func.value
            return _CALL_TYPES.get(name) if self.is_builtin(name) else None
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
            inner = self.kind(expr.expression, scope)
            return inner if inner in NUMBERS else None
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Add, cst.Subtract, cst.Multiply)):
            left, right = self.kind(expr.left, scope), self.kind(expr.right, scope)
            if left in NUMBERS and right in NUMBERS:
                return "float" if "float" in (left, right) else "int"
            if isinstance(expr.operator, cst.Add) and left == right and left in ("str", "list", "tuple"):
                return left
            return None
        if isinstance(expr, cst.Name) and isinstance(scope, FunctionScope):
            found = self.local_types(scope).get(expr.value)
            if found and found.startswith("annotated:"):
                return found.removeprefix("annotated:") if annotations else None
            return found
        return None

    def local_types(self, scope: FunctionScope) -> dict[str, str]:
        """Names of a function scope whose every binding has one proven builtin type."""
        key = id(scope)
        if key not in self._types:
            self._types[key] = {}  # a name whose type depends on itself starts unknown
            self._types[key] = self._infer(scope)
        return self._types[key]

    def _infer(self, scope: FunctionScope) -> dict[str, str]:
        groups: dict[str, list[Any]] = {}
        for assignment in scope.assignments:
            groups.setdefault(assignment.name, []).append(assignment)
        # Greatest fixed point: assume each name has the one type its bindings agree on where they
        # can be typed at all (`x = 0; x = x + 1`), then drop every assumption a binding
        # contradicts, until none does.
        self._types[id(scope)] = {}
        known: dict[str, str] = {}
        for name, assignments in groups.items():
            kinds = {self._binding_kind(a.node, scope) for a in assignments} - {None}
            if len(kinds) == 1:
                known[name] = kinds.pop()
        changed = True
        while changed:
            self._types[id(scope)] = dict(known)
            changed = False
            for name in list(known):
                kinds = {self._binding_kind(a.node, scope) for a in groups[name]}
                if kinds != {known[name]}:
                    del known[name]
                    changed = True
        return known

    def _binding_kind(self, node: Any, scope: FunctionScope) -> str | None:
        if isinstance(node, cst.Param):
            found = self.annotated_sequence(node)
            return f"annotated:{found}" if found else None
        if not isinstance(node, cst.Name) or self.scope(node) is not scope:
            return None  # an import, a def, or a `nonlocal` binding made in a nested function
        parent = self.parent(node)
        if isinstance(parent, cst.AssignTarget):
            statement = self.parent(parent)
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                return self.kind(statement.value, scope)
            return None
        if isinstance(parent, cst.AnnAssign) and parent.value is not None:
            return self.kind(parent.value, scope)
        if isinstance(parent, cst.AugAssign) and isinstance(parent.operator, (cst.AddAssign, cst.SubtractAssign,
                                                                               cst.MultiplyAssign)):
            before, added = self.kind(node, scope), self.kind(parent.value, scope)
            if before in NUMBERS and added in NUMBERS:
                return "float" if "float" in (before, added) else "int"
            return before if before == added and before in ("str", "list", "tuple") else None
        if isinstance(parent, cst.For) and parent.target is node:
            it = parent.iter
            if isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range" \
                    and self.is_builtin("range"):
                return "int"
        return None

    def annotated_sequence(self, param: cst.Param) -> str | None:
        """The builtin sequence type a parameter's annotation names (`list[int]`, `List[str]`, `str`)."""
        if param.annotation is None or param.star:
            return None
        ann = param.annotation.annotation
        if isinstance(ann, cst.Subscript):
            ann = ann.value
        if isinstance(ann, cst.Attribute) and isinstance(ann.value, cst.Name) and ann.value.value == "typing":
            ann = ann.attr
        if not isinstance(ann, cst.Name):
            return None
        name = _ANNOTATION_TYPES.get(ann.value, ann.value)
        return name if name in SEQUENCES else None
