"""The layout's promises (docs/architecture.md), checked on the source: dependencies point one way
(web -> domains -> vakt), no route module imports another, no import cycle between files, and
no module too long to read in one sitting."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("vakt", "itembank", "exam", "proctoring", "grading", "certification", "web")
DOMAINS = ("itembank", "exam", "proctoring", "grading", "certification")
MAX_LINES = 500
COMPOSITION_ROOTS = {"vakt.cli", "vakt.demo.seed"}
"""Modules of vakt that put the application together (only inside their commands)."""


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, *, top_level_only: bool) -> Iterator[str]:
    """The project modules ``module`` imports (each ``from x import y`` counts x.y when that is a
    module, else x)."""
    tree = ast.parse(MODULES[module].read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield name


def _route_module(module: str) -> bool:
    if not module.startswith("web.routes."):
        return False
    return any(
        isinstance(node, ast.FunctionDef) and node.name == "routes"
        for node in ast.parse(MODULES[module].read_text()).body
    )


def test_dependencies_point_one_way() -> None:
    wrong = []
    for module in MODULES:
        top = module.split(".")[0]
        for imported in _imports(module, top_level_only=False):
            target = imported.split(".")[0]
            if top in DOMAINS and target == "web":
                wrong.append((module, imported))
            if top == "vakt" and target in (*DOMAINS, "web") and module not in COMPOSITION_ROOTS:
                wrong.append((module, imported))
    assert not wrong, wrong


def test_no_route_module_imports_another() -> None:
    wrong = [
        (module, imported)
        for module in MODULES
        if _route_module(module)
        for imported in _imports(module, top_level_only=False)
        if _route_module(imported)
    ]
    assert not wrong, wrong


def test_no_import_cycle_between_files() -> None:
    graph = {module: set(_imports(module, top_level_only=True)) for module in MODULES}
    cycles = [component for component in _strongly_connected(graph) if len(component) > 1]
    assert not cycles, cycles


def test_every_module_can_be_read_in_one_sitting() -> None:
    long = {
        module: count
        for module, path in MODULES.items()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, without recursion (the graph has a few hundred modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found
