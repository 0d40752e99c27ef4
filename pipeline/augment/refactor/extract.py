"""A repeated pure sub-expression into a local variable, and a single-use local back into its use.

    return len(xs) * 2 + len(xs)            xs_len = len(xs)
                                    <->     return xs_len * 2 + xs_len

Moving an expression's evaluation (earlier, once) is only invisible when the expression can
neither fail nor have an effect, and nothing between the two moments can change its value. So
the expression must be *pure and total*: proven locals and constants, `len()` of a proven builtin
sequence (with `len` the builtin), `+`, `-`, `*` and unary minus on proven numbers (and `+` on
strings). The statement must hold no `:=` (`rebinds_name`), no other call when the expression
reads a mutable value (`calls_between`: `len(xs) + f(xs) + len(xs)` may see two lengths), and
stand in a function body block (`not_in_function`, `one_line_block`). The new name is fresh in the
whole module. The inverse inlines `name = E` into the statement right after it when that is the
only place the function spells `name` and it is read there at least twice (`single_use`
otherwise: extracting it back, the equivalence gate's check, needs a repeat), under the same proofs.
"""

from __future__ import annotations

import libcst as cst

from pipeline.augment.refactor.base import BodyRewrite, as_operand, has_any, names_in
from pipeline.augment.refactor.context import declared_outside, enclosing_function, in_function_scope, single_assign
from pipeline.augment.refactor.purity import Purity, calls_in, code_of, spellings, subexpressions


def _fresh(base: str, taken: set[str]) -> str:
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


_SUFFIX = {cst.Add: "total", cst.Subtract: "difference", cst.Multiply: "product"}


def _name_for(expr: cst.BaseExpression) -> str:
    """A readable name: len(xs) -> xs_len, a + b -> a_b_total, -x -> x_negated."""
    words = [n for n in _identifiers(expr) if n != "len"][:3]
    if isinstance(expr, cst.Call):
        suffix = "len"
    elif isinstance(expr, cst.BinaryOperation):
        suffix = _SUFFIX[type(expr.operator)]
    else:
        suffix = "negated"
    return "_".join([*words, suffix])


def _identifiers(node: cst.CSTNode) -> list[str]:
    out: list[str] = []

    class Collect(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            if n.value not in out:
                out.append(n.value)

    node.visit(Collect())
    return out


class ExtractSubexpression(BodyRewrite):
    name = "extract_subexpression"
    inverse = "inline_variable"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._used: set[str] = set()  # names this pass introduced

    def rewrite_body(self, original, updated):
        out = []
        for orig, new in zip(original, updated):
            found = self._candidate(orig)
            if found is None:
                out.append(new)
                continue
            expr, refused = found
            if not self.site(orig, refused):
                out.append(new)
                continue
            text = code_of(expr)
            name = _fresh(_name_for(expr), self.facts.spellings | self._used)
            self._used.add(name)
            replaced = new.visit(_Replace(text, name))
            assign = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))],
                                                         expr.with_changes(lpar=[], rpar=[]))],
                                             leading_lines=new.leading_lines)
            out += [assign, replaced.with_changes(leading_lines=[])]
        return out

    def _candidate(self, stmt: cst.BaseStatement) -> tuple[cst.BaseExpression, str | None] | None:
        """The largest sub-expression spelled at least twice in a one-statement line, and why it
        cannot be extracted (None: it can)."""
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            return None
        counts: dict[str, list[cst.BaseExpression]] = {}
        for expr in subexpressions(stmt.body[0]):
            counts.setdefault(code_of(expr), []).append(expr)
        repeated = [exprs for exprs in counts.values() if len(exprs) >= 2]
        if not repeated:
            return None
        purity = Purity(self, stmt)
        pure = [e for e in repeated if purity.kind(e[0]) is not None]
        if not pure:
            return max(repeated, key=lambda e: len(code_of(e[0])))[0], "not_pure"
        exprs = max(pure, key=lambda e: len(code_of(e[0])))
        purity = Purity(self, stmt)
        purity.kind(exprs[0])
        return exprs[0], self._refusal(stmt, exprs, purity.mutable)

    def _refusal(self, stmt, exprs, mutable: bool) -> str | None:
        if not in_function_scope(self.facts, stmt):
            return "not_in_function"
        if not isinstance(self.facts.parent(stmt), cst.IndentedBlock):
            return "one_line_block"
        if has_any(stmt, (cst.NamedExpr, cst.Yield, cst.Await)):
            return "rebinds_name"
        if mutable and len(calls_in(stmt)) > sum(len(calls_in(e)) for e in exprs):
            return "calls_between"
        return None


class _Replace(cst.CSTTransformer):
    """Every occurrence of the expression (by its code) by the name."""

    def __init__(self, text: str, name: str):
        super().__init__()
        self.text, self.name = text, name

    def on_visit(self, node: cst.CSTNode) -> bool:
        # their own scopes may bind the expression's names to something else
        return not isinstance(node, (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp))

    def on_leave(self, original, updated):
        updated = super().on_leave(original, updated)
        if isinstance(original, (cst.Call, cst.BinaryOperation, cst.UnaryOperation)) and code_of(original) == self.text:
            return cst.Name(self.name, lpar=updated.lpar if len(updated.lpar) > 1 else [],
                            rpar=updated.rpar if len(updated.rpar) > 1 else [])
        return updated


class InlineVariable(BodyRewrite):
    name = "inline_variable"
    inverse = "extract_subexpression"

    def rewrite_body(self, original, updated):
        def merge(i: int) -> cst.BaseStatement | None:
            assigned = single_assign(original[i])
            if assigned is None or not self._uses(assigned[0], original[i + 1]):
                return None
            name, expr = assigned
            if not self.site(original[i], self._refusal(original[i], original[i + 1], name, expr)):
                return None
            inlined = updated[i + 1].visit(_Inline(name, as_operand(updated[i].body[0].value)))
            return inlined.with_changes(leading_lines=[*updated[i].leading_lines, *updated[i + 1].leading_lines])

        return self.merge_pairs(original, updated, merge)

    @staticmethod
    def _uses(name: str, stmt: cst.BaseStatement) -> bool:
        return isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and name in names_in(stmt)

    def _refusal(self, line, stmt, name, expr) -> str | None:
        facts = self.facts
        if not in_function_scope(facts, line):
            return "not_in_function"
        purity = Purity(self, line)
        if purity.kind(expr) is None or isinstance(expr, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
            return "not_pure"
        if self.loses_comments(line.with_changes(leading_lines=())):
            return "comments_inside"
        function = enclosing_function(facts, line)
        spelled = spellings(function.body, name)
        if spelled != 1 + spellings(stmt, name) or declared_outside(function, name) or name in names_in(expr):
            return "name_used_elsewhere"
        scope = facts.scope(line)
        if scope is None or sum(a.name == name for a in scope.assignments) != 1:
            return "name_used_elsewhere"
        if spellings(stmt, name) < 2:
            return "single_use"  # extracting it back needs a repeat: the gate could not check the way back
        if has_any(stmt, (cst.NamedExpr, cst.Yield, cst.Await, cst.Lambda, cst.ListComp, cst.SetComp,
                          cst.DictComp, cst.GeneratorExp)):
            return "rebinds_name"
        if purity.mutable and calls_in(stmt):
            return "calls_between"
        return None


class _Inline(cst.CSTTransformer):
    """The variable's reads replaced by its value (attribute and keyword names are not reads)."""

    def __init__(self, name: str, value: cst.BaseExpression):
        super().__init__()
        self.name, self.value = name, value
        self.not_reads: set[int] = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.not_reads.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.not_reads.add(id(node.keyword))

    def leave_Name(self, original: cst.Name, updated: cst.Name):
        if original.value == self.name and id(original) not in self.not_reads:
            return self.value
        return updated
