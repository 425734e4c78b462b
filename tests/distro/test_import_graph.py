"""No import cycles in otel_aa or the exporter: each module can be read from the bottom up.

The graph is read from the source (ast), so it shows what the code says, not what one import
order happened to load. Two readings:

- module level (what runs at import): no cycle at all, in both packages;
- with the imports inside functions too (a lazy import is still a dependency: the issue's
  ``configurator`` <-> ``hooks`` was one): no cycle either. The package's own ``__init__``
  facade (``otel_aa.configure()`` importing the configurator when called) is the top of the
  graph, and its functions are not followed.

Every module of both packages is imported too, so a module the graph names exists and loads.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGES = {
    "otel_aa": ROOT / "otel_aa",
    "opentelemetry.exporter.google_analytics":
        ROOT / "exporters/google-analytics/src/opentelemetry/exporter/google_analytics",
}

def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(node: ast.AST, *, lazy: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if _is_type_checking(child):
            continue  # read by the type checker only
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif lazy or not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _imports(child, lazy=lazy)


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in MODULES}
    base = node.module or ""
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    # ``from package import submodule`` depends on the submodule; ``from module import name``
    # on the module.
    return {f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            for alias in node.names} & MODULES.keys()


def graph(*, lazy: bool) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # The package facade's functions are not followed (see the module's docstring).
        facade = lazy and path.name == "__init__.py"
        nodes = _imports(tree, lazy=lazy and not facade)
        edges[module] = {t for node in nodes for t in _targets(module, path, node)} - {module}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_reader_finds_a_cycle() -> None:
    # The oracle itself: a planted cycle is found, a chain is not.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_the_imports() -> None:
    edges = graph(lazy=True)
    assert "otel_aa._instrumenting" in edges["otel_aa._distro"]  # module level
    assert "otel_aa._celery_hooks" in edges["otel_aa._instrumenting"]  # inside a function
    assert "opentelemetry.exporter.google_analytics._config" in edges[
        "opentelemetry.exporter.google_analytics._metric_exporter"]


def test_no_cycle_at_module_level() -> None:
    assert cycles(graph(lazy=False)) == []


def test_no_cycle_counting_the_imports_inside_functions() -> None:
    assert cycles(graph(lazy=True)) == []


def test_the_exporter_imports_nothing_of_otel_aa() -> None:
    edges = graph(lazy=True)
    exporter = [m for m in MODULES if m.startswith("opentelemetry.")]
    assert [(m, sorted(edges[m])) for m in exporter if any(t.startswith("otel_aa") for t in edges[m])] == []


#: Not imported here: Django's migrations, and the admin module (it registers with
#: ``django.contrib.admin``, which this test site doesn't install; tests/admin imports it).
NOT_IMPORTED = ("otel_aa.migrations.", "otel_aa.admin")


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.startswith(NOT_IMPORTED) or
                                          m.startswith("otel_aa.admin_")))
def test_every_module_imports(module: str) -> None:
    assert importlib.import_module(module).__name__ == module
