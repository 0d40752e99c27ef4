"""String formatting forms into each other, where the result is provably the same string.

- `"{} and {!r:>4}".format(a, b)` <-> `f"{a} and {b!r:>4}"`: both call `format(value, spec)` after
  the same conversion, field by field in template order. Only where every argument or field is a
  plain name (evaluating it has no effect, so evaluating all first or each in turn is the same),
  every argument is used, and fields are plain (`{0.x}`, `{a[0]}` and nested specs are refused).
- `"%s: %r" % (a, b)` -> `"{!s}: {!r}".format(a, b)`: `%s`, `%r` and `%a` are `str`, `repr` and
  `ascii`, and so are `!s`, `!r` and `!a` (with `-`, width and precision mapped to `<`, width and
  `.precision`), and back (`format_to_percent`, any argument expressions: both forms evaluate
  every argument before formatting). Only with a tuple display on the right: `"%s" % x` treats a
  tuple `x` as its arguments, so a bare operand is refused (`operand_may_be_tuple`). Other
  directives (`%d`, `%f`, ...) convert differently from their format-spec look-alikes and are refused.
- format fields must be auto-numbered (`{}`) for `format_to_fstring`: the f-string comes back as
  `{}` fields, so the equivalence gate could not tell a numbered template's round trip from a change.
A template holding escapes that could spell a brace or a percent sign (`\\x7b`, `\\N{...}`) is refused.
"""

from __future__ import annotations

import ast
import re
import string

import libcst as cst

from pipeline.augment.refactor.base import Rewrite

_RISKY_ESCAPE = re.compile(r"\\(x|u|U|N|[0-7])")
_PERCENT = re.compile(r"%(?:(%)|(-?)(\d*)(?:\.(\d+))?([a-zA-Z]))")


def _template(node: cst.SimpleString) -> tuple[str, str, str] | None:
    """(prefix, quote, body) of a str literal that is safe to re-spell, or None."""
    prefix = node.prefix.lower()
    if "b" in prefix or "f" in prefix or "u" in prefix or _RISKY_ESCAPE.search(node.raw_value):
        return None
    return node.prefix, node.quote, node.raw_value


def _fields(body: str) -> list[tuple[str, str | None, str | None, str | None]] | None:
    try:
        return list(string.Formatter().parse(body))
    except ValueError:
        return None


def _escape_braces(literal: str) -> str:
    return literal.replace("{", "{{").replace("}", "}}")


class _FormatCall(Rewrite):
    """A rewrite of `"template".format(...)` calls: subclasses refuse, or build the replacement."""

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        func = original.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "format"
                and isinstance(func.value, cst.SimpleString)):
            return updated
        parts = _template(func.value)
        if not self.site(original, self._refusal(original, parts)):
            return updated
        return self.build(original, updated, *parts)

    def _refusal(self, call: cst.Call, parts: tuple[str, str, str] | None) -> str | None:
        raise NotImplementedError  # what each rewrite cannot prove

    def build(self, original: cst.Call, updated: cst.Call, prefix: str, quote: str, body: str) -> cst.BaseExpression:
        raise NotImplementedError  # the replacement expression


class FormatToFString(_FormatCall):
    name = "format_to_fstring"
    inverse = "fstring_to_format"

    def build(self, original, updated, prefix, quote, body):
        positional = [a.value.value for a in original.args]
        out, auto = [], 0
        for literal, field, spec, conversion in _fields(body):
            out.append(_escape_braces(literal))
            if field is None:
                continue
            name, auto = positional[auto], auto + 1
            out.append("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
        return cst.parse_expression(f"f{prefix}{quote}{''.join(out)}{quote}").with_changes(
            lpar=updated.lpar, rpar=updated.rpar)

    def _refusal(self, call: cst.Call, parts: tuple[str, str, str] | None) -> str | None:
        if parts is None:
            return "escapes_in_template"
        if self.loses_comments(call):
            return "comments_inside"
        if any(a.star or not isinstance(a.value, cst.Name) for a in call.args):
            return "argument_not_a_name"
        fields = _fields(parts[2])
        if fields is None:
            return "bad_template"
        positional = [a for a in call.args if not a.keyword]
        named = [a for a in call.args if a.keyword]
        used_pos, autos = set(), 0
        for _, field, spec, _ in fields:
            if field is None:
                continue
            if spec and ("{" in spec or "}" in spec):
                return "nested_field"
            if field == "":
                used_pos.add(autos)
                autos += 1
            else:
                # numbered and named fields come back from an f-string as `{}`: the equivalence
                # gate could not tell the round trip from a change
                return "numbered_or_named_field"
        if named or used_pos != set(range(len(positional))):
            return "argument_unused_or_missing"
        return None


class FStringToFormat(Rewrite):
    name = "fstring_to_format"
    inverse = "format_to_fstring"

    def leave_FormattedString(self, original: cst.FormattedString, updated: cst.FormattedString):
        refused = self._refusal(original)
        if refused == "not_a_site" or not self.site(original, refused):
            return updated
        out, args = [], []
        for part in updated.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(part.value)
                continue
            args.append(cst.Arg(cst.Name(part.expression.value)))
            conversion = f"!{part.conversion}" if part.conversion else ""
            spec = "".join(p.value for p in part.format_spec) if part.format_spec else ""
            out.append("{" + conversion + (f":{spec}" if spec else "") + "}")
        prefix = updated.prefix.replace("f", "").replace("F", "")
        template = cst.SimpleString(f"{prefix}{updated.start[len(updated.prefix):]}{''.join(out)}{updated.end}")
        return cst.Call(func=cst.Attribute(value=template, attr=cst.Name("format")), args=args,
                        lpar=updated.lpar, rpar=updated.rpar)

    def _refusal(self, node: cst.FormattedString) -> str | None:
        expressions = [p for p in node.parts if isinstance(p, cst.FormattedStringExpression)]
        if not expressions:
            return "not_a_site"  # an f-string without fields: nothing to format
        if isinstance(self.facts.parent(node), cst.ConcatenatedString):
            return "implicit_concatenation"  # a call cannot stand between adjacent literals
        if any(isinstance(p, cst.FormattedStringText) and _RISKY_ESCAPE.search(p.value) for p in node.parts):
            return "escapes_in_template"
        if self.loses_comments(node):
            return "comments_inside"
        for p in expressions:
            if not isinstance(p.expression, cst.Name):
                return "field_not_a_name"
            if p.equal is not None:
                return "self_documenting_field"
            if p.format_spec and any(not isinstance(s, cst.FormattedStringText) for s in p.format_spec):
                return "nested_field"
        return None


class PercentToFormat(Rewrite):
    name = "percent_to_format"
    inverse = "format_to_percent"

    def leave_BinaryOperation(self, original: cst.BinaryOperation, updated: cst.BinaryOperation):
        if not (isinstance(original.operator, cst.Modulo) and isinstance(original.left, cst.SimpleString)):
            return updated
        parts = _template(original.left)
        if not self.site(original, self._refusal(original, parts)):
            return updated
        prefix, quote, body = parts
        out, last = [], 0
        for m in _PERCENT.finditer(body):
            out.append(_escape_braces(body[last:m.start()]))
            last = m.end()
            if m.group(1):
                out.append("%")
                continue
            minus, width, precision, conversion = m.group(2), m.group(3), m.group(4), m.group(5)
            spec = ("<" if minus else ">") + width if width else ""
            spec += f".{precision}" if precision is not None else ""
            out.append("{!" + conversion + (f":{spec}" if spec else "") + "}")
        out.append(_escape_braces(body[last:]))
        template = cst.SimpleString(f"{prefix}{quote}{''.join(out)}{quote}")
        right = updated.right
        args = [cst.Arg(e.value) for e in right.elements]
        return cst.Call(func=cst.Attribute(value=template, attr=cst.Name("format")), args=args,
                        lpar=updated.lpar, rpar=updated.rpar)

    def _refusal(self, node: cst.BinaryOperation, parts) -> str | None:
        if parts is None:
            return "escapes_in_template"
        if self.loses_comments(node):
            return "comments_inside"
        body = parts[2]
        matches = list(_PERCENT.finditer(body))
        if "%" in _PERCENT.sub("", body):
            return "bad_template"
        directives = [m for m in matches if not m.group(1)]
        if any(m.group(5) not in "sra" for m in directives):
            return "conversion_differs"
        right = node.right
        if isinstance(right, cst.Tuple):
            if any(isinstance(e, cst.StarredElement) for e in right.elements):
                return "operand_may_be_tuple"
            count = len(right.elements)
        else:
            return "operand_may_be_tuple"
        if count != len(directives):
            return "argument_count"
        try:
            ast.literal_eval(f"{parts[0]}{parts[1]}{body}{parts[1]}")
        except (SyntaxError, ValueError):
            return "bad_template"
        return None


_SPEC = re.compile(r"([<>]?)(\d*)(?:\.(\d+))?$")


class FormatToPercent(_FormatCall):
    """`"{!s:>5}: {!r}".format(a, b)` into `"%5s: %r" % (a, b)`."""

    name = "format_to_percent"
    inverse = "percent_to_format"

    def build(self, original, updated, prefix, quote, body):
        out = []
        for literal, field, spec, conversion in _fields(body):
            out.append(literal.replace("%", "%%"))
            if field is None:
                continue
            align, width, precision = _SPEC.match(spec or "").groups()
            flag = "-" if width and align != ">" else ""
            out.append("%" + flag + width + (f".{precision}" if precision else "") + conversion)
        # `{{` in the template is one brace in the value, and one brace in a %-template
        template = cst.SimpleString(f"{prefix}{quote}{''.join(out)}{quote}")
        elements = [cst.Element(a.value) for a in updated.args]
        right = cst.Tuple(elements if len(elements) > 1 else [cst.Element(elements[0].value, comma=cst.Comma())])
        return cst.BinaryOperation(left=template, operator=cst.Modulo(), right=right,
                                   lpar=updated.lpar, rpar=updated.rpar)

    def _refusal(self, call: cst.Call, parts) -> str | None:
        if parts is None:
            return "escapes_in_template"
        if self.loses_comments(call):
            return "comments_inside"
        if not call.args or any(a.star or a.keyword for a in call.args):
            return "argument_not_positional"
        fields = _fields(parts[2])
        if fields is None:
            return "bad_template"
        used = [f for f in fields if f[1] is not None]
        if any(f[1] != "" for f in used):
            return "numbered_or_named_field"
        if any(f[3] not in ("s", "r", "a") for f in used):
            return "conversion_differs"  # format(x, spec) is not str(x) for every type
        if any(not _SPEC.match(f[2] or "") for f in used):
            return "spec_differs"
        if len(used) != len(call.args):
            return "argument_unused_or_missing"
        return None
