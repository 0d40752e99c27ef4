"""Accumulating loops and comprehensions, into each other.

    x = []                                  x = [f(v) for v in items if ok(v)]
    for v in items:               <->
        if ok(v):
            x.append(f(v))

(and `set()` + `.add`, `{}` + `x[k] = v` into set and dict comprehensions). The two differ in
what they leave behind, so a site is refused when that could be seen:
- the loop variable outlives a loop, not a comprehension: refused when the function spells it
  anywhere else (`loop_variable_used`);
- the loop fills the list as it goes, the comprehension binds it at the end: refused when the
  loop reads the list (`list_read_in_loop`), when a nested function could (`list_seen_by_closure`),
  when the name is global or nonlocal, and inside try or with blocks, where an exception half-way
  could be caught and the half-built list read (`inside_try`);
- a dict display evaluates key then value, an item assignment value then key: refused unless one
  of the two is a plain name or constant (`evaluation_order`);
- class bodies and module level: a comprehension there runs in a scope of its own
  (`not_in_function`); yield, await, := and lambda (`moves_suspending_code`); comments in the
  loop would be lost (`comments_inside`); `set` rebound in the module (`builtin_shadowed`).
"""

from __future__ import annotations

import libcst as cst

from pipeline.augment.refactor.base import BodyRewrite, Rewrite, names_in, suspends_or_binds, unwrapped, wrapped
from pipeline.augment.refactor.context import (
    declared_outside, enclosing_function, guarded, in_function_scope, seen_by_nested, single_assign, spelled_outside,
    target_names,
)


def _accumulator(value: cst.BaseExpression) -> str | None:
    """Which comprehension an empty container starts: list, set or dict."""
    if isinstance(value, cst.List) and not value.elements:
        return "list"
    if isinstance(value, cst.Dict) and not value.elements:
        return "dict"
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "set" \
            and not value.args:
        return "set"
    return None


def _only_statement(block: cst.BaseSuite) -> cst.BaseStatement | cst.BaseSmallStatement | None:
    if isinstance(block, cst.IndentedBlock) and len(block.body) == 1:
        stmt = block.body[0]
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            return stmt.body[0]
        return stmt
    if isinstance(block, cst.SimpleStatementSuite) and len(block.body) == 1:
        return block.body[0]
    return None


def _adds(stmt: cst.CSTNode, name: str, kind: str) -> tuple[cst.BaseExpression, ...] | None:
    """The element(s) one loop iteration adds: (value,) for x.append / x.add, (key, value) for x[k] = v."""
    if kind in ("list", "set") and isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call):
        call = stmt.value
        method = "append" if kind == "list" else "add"
        if isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name) \
                and call.func.value.value == name and call.func.attr.value == method \
                and len(call.args) == 1 and not call.args[0].keyword and not call.args[0].star:
            return (call.args[0].value,)
    if kind == "dict" and isinstance(stmt, cst.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0].target
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and target.value.value == name \
                and len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
            return (target.slice[0].slice.value, stmt.value)
    return None


def _loop_body(loop: cst.For, name: str, kind: str) -> tuple[tuple[cst.BaseExpression, ...], cst.BaseExpression | None] | None:
    """(added element(s), condition or None) when the loop body only adds to `name`."""
    stmt = _only_statement(loop.body)
    if isinstance(stmt, cst.If) and stmt.orelse is None:
        inner = _only_statement(stmt.body)
        added = _adds(inner, name, kind) if inner is not None else None
        return (added, stmt.test) if added else None
    added = _adds(stmt, name, kind) if stmt is not None else None
    return (added, None) if added else None


def _simple(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.Name, cst.Integer, cst.Float, cst.SimpleString))


class LoopToComprehension(BodyRewrite):
    name = "loop_to_comprehension"
    inverse = "comprehension_to_loop"

    def rewrite_body(self, original, updated):
        return self.merge_pairs(original, updated, lambda i: self._merge(original, updated, i))

    def _merge(self, original, updated, i):
        start, loop = original[i], original[i + 1]
        assigned = single_assign(start)
        if assigned is None or not isinstance(loop, cst.For) or loop.asynchronous is not None:
            return None
        name, value = assigned
        kind = _accumulator(value)
        found = _loop_body(loop, name, kind) if kind else None
        if found is None:
            return None
        added, condition = found
        if not self.site(loop, self._refusal(loop, name, kind, added, condition)):
            return None
        new_loop = updated[i + 1]
        new_added, new_condition = _loop_body(new_loop, name, kind)
        comp_for = cst.CompFor(target=new_loop.target, iter=wrapped(new_loop.iter, (cst.IfExp,)),
                               ifs=[cst.CompIf(test=wrapped(new_condition, (cst.IfExp,)))] if new_condition is not None else [])
        if kind == "list":
            comp = cst.ListComp(elt=new_added[0], for_in=comp_for)
        elif kind == "set":
            comp = cst.SetComp(elt=new_added[0], for_in=comp_for)
        else:
            comp = cst.DictComp(key=new_added[0], value=new_added[1], for_in=comp_for)
        first = updated[i]
        assign = first.body[0].with_changes(value=comp)
        return first.with_changes(body=[assign], leading_lines=[*first.leading_lines, *new_loop.leading_lines])

    def _refusal(self, loop, name, kind, added, condition) -> str | None:
        facts = self.facts
        if not in_function_scope(facts, loop):
            return "not_in_function"
        if loop.orelse is not None:
            return "loop_else"
        if self.loses_comments(loop.with_changes(leading_lines=())):
            return "comments_inside"
        parts = [loop.iter, *added, *([condition] if condition is not None else [])]
        if any(suspends_or_binds(p) for p in parts):
            return "moves_suspending_code"
        if kind == "set" and not facts.is_builtin("set"):
            return "builtin_shadowed"
        if kind == "dict" and not (_simple(added[0]) or _simple(added[1])):
            return "evaluation_order"
        if any(name in names_in(p) for p in parts):
            return "list_read_in_loop"
        function = enclosing_function(facts, loop)
        targets = target_names(loop.target)
        if targets is None:
            return "complex_target"
        if any(spelled_outside(function, [loop], t) for t in targets):
            return "loop_variable_used"
        if declared_outside(function, name):
            return "global_or_nonlocal"
        if seen_by_nested(function, name):
            return "list_seen_by_closure"
        if guarded(facts, loop):
            return "inside_try"
        return None


class ComprehensionToLoop(Rewrite):
    name = "comprehension_to_loop"
    inverse = "loop_to_comprehension"

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        assigned = single_assign(original)
        if assigned is None or not isinstance(assigned[1], (cst.ListComp, cst.SetComp, cst.DictComp)):
            return updated
        name, comp = assigned
        if not self.site(original, self._refusal(original, name, comp)):
            return updated
        new_comp = updated.body[0].value
        clause = new_comp.for_in
        target = cst.Name(name)
        if isinstance(new_comp, cst.DictComp):
            add = cst.Assign([cst.AssignTarget(cst.Subscript(target, [cst.SubscriptElement(cst.Index(
                unwrapped(new_comp.key)))]))], unwrapped(new_comp.value))
            empty: cst.BaseExpression = cst.Dict([])
        else:
            method = "append" if isinstance(new_comp, cst.ListComp) else "add"
            add = cst.Expr(cst.Call(func=cst.Attribute(value=target, attr=cst.Name(method)),
                                    args=[cst.Arg(unwrapped(new_comp.elt))]))
            empty = cst.List([]) if method == "append" else cst.Call(cst.Name("set"))
        body: cst.BaseStatement = cst.SimpleStatementLine([add])
        if clause.ifs:
            body = cst.If(test=unwrapped(clause.ifs[0].test), body=cst.IndentedBlock([body]))
        start = updated.with_changes(body=[updated.body[0].with_changes(value=empty)])
        loop = cst.For(target=unwrapped(clause.target), iter=unwrapped(clause.iter), body=cst.IndentedBlock([body]))
        return cst.FlattenSentinel([start, loop])

    def _refusal(self, line, name, comp) -> str | None:
        facts = self.facts
        clause = comp.for_in
        if clause.inner_for_in is not None or len(clause.ifs) > 1:
            return "several_clauses"
        if clause.asynchronous is not None:
            return "async_comprehension"
        if not in_function_scope(facts, line):
            return "not_in_function"
        if self.loses_comments(comp):
            return "comments_inside"
        if suspends_or_binds(comp):
            return "moves_suspending_code"
        if isinstance(comp, cst.SetComp) and not facts.is_builtin("set"):
            return "builtin_shadowed"
        if isinstance(comp, cst.DictComp) and not (_simple(comp.key) or _simple(comp.value)):
            return "evaluation_order"
        if name in names_in(comp):
            return "list_read_in_comprehension"
        function = enclosing_function(facts, line)
        targets = target_names(clause.target)
        if targets is None:
            return "complex_target"
        if any(spelled_outside(function, [comp], t) for t in targets):
            return "loop_variable_clash"
        if declared_outside(function, name):
            return "global_or_nonlocal"
        if seen_by_nested(function, name):
            return "list_seen_by_closure"
        if guarded(facts, line):
            return "inside_try"
        return None
