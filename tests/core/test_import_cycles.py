"""No import cycle inside `pipeline/` and `flows/`, counting imports inside functions too: a
function-level import that closes a cycle hides a layering problem, it does not solve it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {_module(p): p for root in ("pipeline", "flows") for p in (ROOT / root).rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        graph[name] = {r for t in targets if (r := resolve(t)) and r != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack, on_stack, found = [], set(), []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_pipeline_and_flows():
    graph = import_graph()
    assert "pipeline.engine" in graph and "flows.curation" in graph
    assert cycles(graph) == []


def test_only_entry_points_and_workflows_call_the_runner():
    """The library below the runner (stages, primitives, clients) never runs the pipeline."""
    callers = {m for m, deps in import_graph().items() if "pipeline.runner" in deps}
    allowed = {"pipeline.cli", "pipeline.cli_common", "flows.curation", "flows.annotation"}
    assert {m for m in callers if not m.startswith("pipeline.workflows.")} <= allowed, callers


def test_only_entry_points_import_the_aggregate_config():
    """Leaf configs live beside their stage and are imported downward; `pipeline.config` (the
    whole run's config) is read by entry points and the modules that drive whole runs."""
    importers = {m for m, deps in import_graph().items() if "pipeline.config" in deps}
    allowed = {"pipeline.cli", "pipeline.cli_common", "pipeline.runner", "pipeline.run_config", "pipeline.steps",
               "pipeline.schema_files",
               "pipeline.demo.config", "flows.curation", "flows.annotation",
               "pipeline.workflows.planted_defects",  # builds the run it measures, as the demo config does
               "pipeline.cli_models", "pipeline.train.launch"}  # entry points: `curate models`, a distributed launch
    assert importers <= allowed, importers - allowed
