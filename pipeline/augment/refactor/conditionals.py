"""Branches into each other: an if/else that assigns one name and a conditional expression; an
`else` after a branch that always leaves and a guard clause.

    if c:                                   x = a if c else b
        x = a                     <->
    else:
        x = b

    if c:                                   if c:
        return a                  <->           return a
    else:                                   rest
        rest

Both pairs evaluate the same expressions in the same order, so the proofs are structural: the
branches assign exactly one plain name each (`x`, not `x.y` or `x[i]`); the branch that makes the
`else` redundant ends in return, raise, break or continue (or in an if/else whose every branch
does), so nothing after it runs when it is taken. Comments on lines that would disappear refuse the site
(`comments_inside`); yield in a branch value refuses too (`moves_suspending_code`).
"""

from __future__ import annotations

import libcst as cst

from pipeline.augment.refactor.base import BodyRewrite, Rewrite, has_any, unwrapped, wrapped
from pipeline.augment.refactor.context import single_assign

_EXITS = (cst.Return, cst.Raise, cst.Break, cst.Continue)


# Where a conditional expression's parts need parentheses: `x = a, b` branches would otherwise
# make `a, (b if c else d)`.
_TIGHT = (cst.IfExp, cst.Lambda, cst.Tuple)


def _branch_assign(block: cst.BaseSuite) -> tuple[str, cst.BaseExpression] | None:
    if not isinstance(block, cst.IndentedBlock) or len(block.body) != 1:
        return None
    return single_assign(block.body[0])


class IfToConditional(Rewrite):
    name = "if_to_conditional"
    inverse = "conditional_to_if"

    def leave_If(self, original: cst.If, updated: cst.If):
        if not isinstance(original.orelse, cst.Else) or isinstance(self.facts.parent(original), cst.If):
            return updated
        then, other = _branch_assign(original.body), _branch_assign(original.orelse.body)
        if then is None or other is None or then[0] != other[0]:
            return updated
        refused = None
        if self.loses_comments(original.with_changes(leading_lines=())):
            refused = "comments_inside"
        elif has_any(original, (cst.Yield, cst.Await)):
            refused = "moves_suspending_code"
        if not self.site(original, refused):
            return updated
        a = updated.body.body[0].body[0].value
        b = updated.orelse.body.body[0].body[0].value
        value = cst.IfExp(test=wrapped(updated.test, _TIGHT), body=wrapped(a, _TIGHT),
                          orelse=wrapped(b, (cst.Tuple,)))
        line = updated.body.body[0]
        return line.with_changes(body=[line.body[0].with_changes(value=value)], leading_lines=updated.leading_lines)


class ConditionalToIf(Rewrite):
    name = "conditional_to_if"
    inverse = "if_to_conditional"

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        assigned = single_assign(original)
        if assigned is None or not isinstance(assigned[1], cst.IfExp):
            return updated
        refused = None
        if self.loses_comments(assigned[1]):
            refused = "comments_inside"
        elif has_any(assigned[1], (cst.Yield, cst.Await)):
            refused = "moves_suspending_code"
        if not self.site(original, refused):
            return updated
        name, value = updated.body[0].targets[0].target, updated.body[0].value

        def branch(expr: cst.BaseExpression) -> cst.IndentedBlock:
            return cst.IndentedBlock([cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(name)], unwrapped(expr))])])

        header = cst.TrailingWhitespace(whitespace=updated.trailing_whitespace.whitespace,
                                        comment=updated.trailing_whitespace.comment)
        body = branch(value.body).with_changes(header=header)
        return cst.If(test=unwrapped(value.test), body=body, orelse=cst.Else(branch(value.orelse)),
                      leading_lines=updated.leading_lines)


def _exits(block: cst.BaseSuite) -> bool:
    """Every way through the block leaves it: its last statement is return, raise, break or
    continue, or an if whose every branch (else included) exits."""
    if not isinstance(block, cst.IndentedBlock) or not block.body:
        return False
    last = block.body[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return isinstance(last.body[-1], _EXITS)
    return isinstance(last, cst.If) and _if_exits(last)


def _if_exits(node: cst.If) -> bool:
    if node.orelse is None or not _exits(node.body):
        return False
    return _if_exits(node.orelse) if isinstance(node.orelse, cst.If) else _exits(node.orelse.body)


class GuardClause(BodyRewrite):
    """`if c: ...leave... else: rest` into `if c: ...leave...` followed by rest."""

    name = "guard_clause"
    inverse = "nested_if"

    def rewrite_body(self, original, updated):
        out = []
        for k, (orig, new) in enumerate(zip(original, updated)):
            if isinstance(orig, cst.If) and orig.orelse is not None and _exits(orig.body):
                # Statements after the if/else would land in the else of the way back (nested_if):
                # the equivalence gate could not recognise the round trip.
                refused = "statements_follow" if k < len(original) - 1 else self._refusal(orig)
                if self.site(orig, refused):
                    out += [new.with_changes(orelse=None), *_else_statements(new.orelse)]
                    continue
            out.append(new)
        return out

    def _refusal(self, node: cst.If) -> str | None:
        orelse = node.orelse
        if isinstance(orelse, cst.Else):
            if self.loses_comments(orelse.with_changes(body=orelse.body.with_changes(body=[]))):
                return "comments_inside"
            if not isinstance(orelse.body, cst.IndentedBlock):
                return "one_line_else"
        return None


def _else_statements(orelse: cst.If | cst.Else) -> list[cst.BaseStatement]:
    if isinstance(orelse, cst.If):  # elif: it becomes an if of its own
        return [orelse.with_changes(leading_lines=[])]
    return list(orelse.body.body)


class NestedIf(BodyRewrite):
    """`if c: ...leave...` followed by the rest of the block into `if c: ... else: rest`."""

    name = "nested_if"
    inverse = "guard_clause"

    def rewrite_body(self, original, updated):
        sites = [i for i, o in enumerate(original[:-1]) if isinstance(o, cst.If) and o.orelse is None
                 and _exits(o.body)]
        chosen = [i for i in sites if self.site(original[i], None)]
        body = list(updated)
        for i in reversed(chosen):  # the last first: an earlier guard's else then holds it nested
            body = [*body[:i], body[i].with_changes(orelse=cst.Else(cst.IndentedBlock(body[i + 1:])))]
        return body

