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

from pipeline.augment.refactor.base import BodyRewrite, has_any, names_in
from pipeline.augment.refactor.context import declared_outside, enclosing_function, in_function_scope, single_assign
from pipeline.augment.refactor.facts import IMMUTABLE, NUMBERS, SEQUENCES

_ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply)
_ATOMS = (cst.Name, cst.Call, cst.Integer, cst.Float, cst.SimpleString)


class _Purity:
    """Whether an expression is pure and total here, and whether it reads a mutable value."""

    def __init__(self, rewrite: BodyRewrite, statement: cst.CSTNode):
        self.facts = rewrite.facts
        self.statement = statement
        self.scope = rewrite.facts.scope(statement)
        self.mutable = False

    def kind(self, expr: cst.BaseExpression) -> str | None:
        """The proven type of a pure, total expression, or None."""
        if isinstance(expr, (cst.Integer, cst.Float)):
            return "int" if isinstance(expr, cst.Integer) else "float"
        if isinstance(expr, cst.SimpleString):
            return self.facts.kind(expr, self.scope)
        if isinstance(expr, cst.Name):
            found = self.facts.kind(expr, self.scope, annotations=True)
            if found is None or not bound_before(self.facts, self.statement, expr.value):
                return None  # an unbound local would raise earlier, before effects it used to follow
            self.mutable = self.mutable or found not in IMMUTABLE
            return found
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "len" \
                and len(expr.args) == 1 and not expr.args[0].keyword and not expr.args[0].star:
            inner = self.kind(expr.args[0].value)
            return "int" if inner in SEQUENCES and self.facts.is_builtin("len") else None
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
            inner = self.kind(expr.expression)
            return inner if inner in NUMBERS else None
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, _ARITHMETIC):
            left, right = self.kind(expr.left), self.kind(expr.right)
            if left in NUMBERS and right in NUMBERS:
                return "float" if "float" in (left, right) else "int"
            if isinstance(expr.operator, cst.Add) and left == right == "str":
                return "str"
        return None


def bound_before(facts, statement: cst.CSTNode, name: str) -> bool:
    """`name` is a parameter of the function, or assigned by a plain `name = ...` line that comes
    before `statement` in its block or in a block enclosing it (so it is bound whenever it runs)."""
    node = statement
    parent = facts.parent(node)
    while parent is not None:
        if isinstance(parent, cst.FunctionDef):
            params = parent.params
            every = [*params.posonly_params, *params.params, *params.kwonly_params]
            return any(p.name.value == name for p in every)
        if isinstance(parent, (cst.IndentedBlock, cst.Module)):
            for sibling in parent.body:
                if sibling is node:
                    break
                assigned = single_assign(sibling)
                if assigned is not None and assigned[0] == name:
                    return True
        node, parent = parent, facts.parent(parent)
    return False


def _subexpressions(node: cst.CSTNode) -> list[cst.BaseExpression]:
    found: list[cst.BaseExpression] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            if isinstance(n, (cst.Call, cst.BinaryOperation, cst.UnaryOperation)):
                found.append(n)
            return not isinstance(n, (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp))

    node.visit(Collect())
    return found


def _code(expr: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(expr.with_changes(lpar=[], rpar=[]) if hasattr(expr, "lpar") else expr)


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Collect(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            found.append(n)

    node.visit(Collect())
    return found


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
            text = _code(expr)
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
        for expr in _subexpressions(stmt.body[0]):
            counts.setdefault(_code(expr), []).append(expr)
        repeated = [exprs for exprs in counts.values() if len(exprs) >= 2]
        if not repeated:
            return None
        purity = _Purity(self, stmt)
        pure = [e for e in repeated if purity.kind(e[0]) is not None]
        if not pure:
            return max(repeated, key=lambda e: len(_code(e[0])))[0], "not_pure"
        exprs = max(pure, key=lambda e: len(_code(e[0])))
        purity = _Purity(self, stmt)
        purity.kind(exprs[0])
        return exprs[0], self._refusal(stmt, exprs, purity.mutable)

    def _refusal(self, stmt, exprs, mutable: bool) -> str | None:
        if not in_function_scope(self.facts, stmt):
            return "not_in_function"
        if not isinstance(self.facts.parent(stmt), cst.IndentedBlock):
            return "one_line_block"
        if has_any(stmt, (cst.NamedExpr, cst.Yield, cst.Await)):
            return "rebinds_name"
        if mutable and len(_calls(stmt)) > sum(len(_calls(e)) for e in exprs):
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
        if isinstance(original, (cst.Call, cst.BinaryOperation, cst.UnaryOperation)) and _code(original) == self.text:
            return cst.Name(self.name, lpar=updated.lpar if len(updated.lpar) > 1 else [],
                            rpar=updated.rpar if len(updated.rpar) > 1 else [])
        return updated


class InlineVariable(BodyRewrite):
    name = "inline_variable"
    inverse = "extract_subexpression"

    def rewrite_body(self, original, updated):
        out, i = [], 0
        while i < len(original):
            assigned = single_assign(original[i]) if i + 1 < len(original) else None
            if assigned is not None and self._uses(assigned[0], original[i + 1]):
                name, expr = assigned
                if self.site(original[i], self._refusal(original[i], original[i + 1], name, expr)):
                    value = updated[i].body[0].value
                    if not isinstance(value, _ATOMS):
                        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
                    inlined = updated[i + 1].visit(_Inline(name, value))
                    out.append(inlined.with_changes(leading_lines=[*updated[i].leading_lines,
                                                                   *updated[i + 1].leading_lines]))
                    i += 2
                    continue
            out.append(updated[i])
            i += 1
        return out

    @staticmethod
    def _uses(name: str, stmt: cst.BaseStatement) -> bool:
        return isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and name in names_in(stmt)

    def _refusal(self, line, stmt, name, expr) -> str | None:
        facts = self.facts
        if not in_function_scope(facts, line):
            return "not_in_function"
        purity = _Purity(self, line)
        if purity.kind(expr) is None or isinstance(expr, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
            return "not_pure"
        if self.loses_comments(line.with_changes(leading_lines=())):
            return "comments_inside"
        function = enclosing_function(facts, line)
        spelled = _spellings(function.body, name)
        if spelled != 1 + _spellings(stmt, name) or declared_outside(function, name) or name in names_in(expr):
            return "name_used_elsewhere"
        scope = facts.scope(line)
        if scope is None or sum(a.name == name for a in scope.assignments) != 1:
            return "name_used_elsewhere"
        if _spellings(stmt, name) < 2:
            return "single_use"  # extracting it back needs a repeat: the gate could not check the way back
        if has_any(stmt, (cst.NamedExpr, cst.Yield, cst.Await, cst.Lambda, cst.ListComp, cst.SetComp,
                          cst.DictComp, cst.GeneratorExp)):
            return "rebinds_name"
        if purity.mutable and _calls(stmt):
            return "calls_between"
        return None


def _spellings(node: cst.CSTNode, name: str) -> int:
    count = 0

    class Count(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            nonlocal count
            count += n.value == name

    node.visit(Count())
    return count


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
