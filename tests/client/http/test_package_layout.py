"""The HTTP package reads from its folders: no import circle inside `client.http`, routers that
import neither each other nor the app factory (they take the service from `app.state`).
Function-local imports count: they hide a circle, they do not remove it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "client" / "http"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parents[1]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found & known


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    return {name: _imports(path, known) - {name} for name, path in files.items()}


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        path.append(name)
        for dependency in sorted(graph[name]):
            if cycle := visit(dependency):
                return cycle
        path.pop()
        return None

    return visit(start)


def test_no_import_circle_in_the_http_package() -> None:
    graph = import_graph()
    assert "client.http.app" in graph and "client.http.routers.streaming" in graph
    for module in graph:
        cycle = _cycle_from(module, graph)
        assert cycle is None, " -> ".join(cycle or [])


def test_routers_import_neither_each_other_nor_the_app() -> None:
    graph = import_graph()
    routers = {name for name in graph if name.startswith("client.http.routers.")}
    assert {"classify", "info", "streaming"} <= {name.rsplit(".", 1)[1] for name in routers}
    for router in routers:
        assert not graph[router] & (routers | {"client.http.app"}), router
