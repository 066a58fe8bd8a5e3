"""How the item bank's modules and routes import each other: no cycles, no route module leaning
on another, and the domain knows nothing of the web."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("itembank", "web/routes/itembank")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Each module of the two packages and every module it imports (``from a import b`` counts
    as importing ``a`` and, when it is one, the module ``a.b``), wherever in the file."""
    files = {
        _module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }
    imports: dict[str, set[str]] = {}
    for name, path in files.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        imports[name] = imported - {name}
    return imports


def _graph() -> dict[str, set[str]]:
    """The imports between the modules of the two packages."""
    imports = _imports()
    return {name: targets & imports.keys() for name, targets in imports.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of imports, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles() -> None:
    assert _cycle(_graph()) is None


def test_route_modules_do_not_import_each_other() -> None:
    graph = _graph()
    routes = {name for name in graph if name.startswith("web.routes.itembank.")}
    shared = {"web.routes.itembank.common"}
    for name in routes:
        assert not (graph[name] & (routes - shared)), name


def test_the_domain_does_not_import_the_web() -> None:
    for name, targets in _imports().items():
        if name.startswith("itembank"):
            assert not any(target.startswith("web") for target in targets), name


def test_modules_inside_the_qti_package_do_not_import_its_public_face() -> None:
    """The package's ``__init__`` imports its modules; a module importing it back would load
    half a package."""
    graph = _graph()
    for name, targets in graph.items():
        if name.startswith("itembank.qti."):
            assert "itembank.qti" not in targets, name
