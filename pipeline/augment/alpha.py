"""Alpha equivalence: two Python sources that differ only in the names of local variables.

The quality gate of code augmentation, independent of the renamer (it uses `ast`, not libcst):
locals of every function and comprehension scope are renamed to canonical names in order of
first appearance, then the two trees are compared with `ast.dump(..., include_attributes=False)`.
"""

from __future__ import annotations

import ast


def _direct_nodes(body: list[ast.AST]):
    """Nodes of a scope's own body in a structure-determined order, not entering nested scopes.

    Parts of nested scopes evaluated in this scope (defaults, decorators, bases, the first
    comprehension iterable, walrus targets inside comprehensions) are included.
    """
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(node.decorator_list)
            if not isinstance(node, ast.ClassDef):
                stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
            else:
                stack.extend(node.bases + [k.value for k in node.keywords])
            continue
        if isinstance(node, ast.Lambda):
            stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            stack.append(node.generators[0].iter)
            stack.extend(n.target for n in ast.walk(node) if isinstance(n, ast.NamedExpr))
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _bound_in(body: list[ast.AST]) -> tuple[set[str], set[str]]:
    """Names bound directly in a function body (not nested scopes) and names declared global/nonlocal."""
    bound: set[str] = set()
    declared: set[str] = set()
    for node in _direct_nodes(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    return bound - declared, declared


class _Canon:
    """Rewrites function/comprehension-local names to ``_l<depth>_<k>`` by first appearance."""

    def __init__(self) -> None:
        self.depth = 0

    def scope(self, node: ast.AST, params: list[str], body: list[ast.AST], env: dict[str, str]) -> None:
        bound, _ = _bound_in(body)
        local = set(params) | bound
        order = [n for n in dict.fromkeys(params + [_ident(x) for x in _direct_nodes(body)]) if n in local]
        self.depth += 1
        inner = dict(env)
        inner.update({n: f"_l{self.depth}_{k}" for k, n in enumerate(order)})
        for stmt in body:
            self.visit(stmt, inner)
        self.depth -= 1

    def visit(self, node: ast.AST, env: dict[str, str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            for d in node.args.defaults + [d for d in args.kw_defaults if d is not None]:
                self.visit(d, env)
            for d in getattr(node, "decorator_list", []):
                self.visit(d, env)
            every = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
            for a in every:
                if a.annotation is not None:
                    self.visit(a.annotation, env)
            if getattr(node, "returns", None) is not None:
                self.visit(node.returns, env)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in env:
                node.name = env[node.name]
            params = [a.arg for a in every]
            body = node.body if isinstance(node.body, list) else [node.body]
            self.scope(node, params, body, env)
            for a in every:
                a.arg = self._mapped(a.arg, body, params, env)
            return
        if isinstance(node, ast.ClassDef):
            for d in node.decorator_list + node.bases + [k.value for k in node.keywords]:
                self.visit(d, env)
            if node.name in env:
                node.name = env[node.name]
            class_bound, _ = _bound_in(node.body)
            class_env = {k: v for k, v in env.items() if k not in class_bound}
            for stmt in node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.visit(stmt, env)  # methods skip the class namespace
                else:
                    self.visit(stmt, class_env)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self.visit(node.generators[0].iter, env)
            targets = [n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)]
            self.depth += 1
            inner = dict(env)
            inner.update({n: f"_l{self.depth}_{k}" for k, n in enumerate(dict.fromkeys(targets))})
            for i, gen in enumerate(node.generators):
                self.visit(gen.target, inner)
                if i:
                    self.visit(gen.iter, inner)
                for cond in gen.ifs:
                    self.visit(cond, inner)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    self.visit(getattr(node, part), inner)
            self.depth -= 1
            return
        if isinstance(node, ast.Name) and node.id in env:
            node.id = env[node.id]
        elif isinstance(node, ast.ExceptHandler) and node.name in env:
            node.name = env[node.name]
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name in env:
            node.name = env[node.name]
        elif isinstance(node, ast.MatchMapping) and node.rest in env:
            node.rest = env[node.rest]
        elif isinstance(node, ast.Nonlocal):
            node.names = [env.get(n, n) for n in node.names]
        for child in ast.iter_child_nodes(node):
            self.visit(child, env)

    def _mapped(self, name: str, body, params, env) -> str:
        # parameters were canonicalised as locals of the scope just processed
        return f"_l{self.depth + 1}_{params.index(name)}"


def _ident(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        return node.name
    if isinstance(node, ast.MatchMapping):
        return node.rest
    return None


def alpha_equivalent(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ only in the spelling of function/comprehension locals.

    Each local is replaced by a canonical name chosen by order of first appearance
    in its scope, then the ``ast.dump`` of both (without positions) is compared.
    Module-level, class-level, attribute and builtin names must match exactly.
    """
    dumps = []
    for src in (a, b):
        tree = ast.parse(src)
        canon = _Canon()
        for stmt in tree.body:
            canon.visit(stmt, {})
        dumps.append(ast.dump(tree, include_attributes=False))
    return dumps[0] == dumps[1]
