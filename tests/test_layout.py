"""The layout of survey/ and scoring/ stays as docs/architecture.md describes it.

* no import circle between files, nor between packages (a package may import its own
  subpackages and its parent; siblings import one way only).  One idiom is not a circle:
  Flask's blueprint package, whose ``__init__`` imports its views only inside ``init_app``
  (after both modules are loaded) while the views take ``bp`` from the package;
* no module longer than :data:`MAX_LINES` lines: a module that grows past it is split along
  its seams (docs/architecture.md, "Where to make a change").

The import graph is read with :mod:`ast`, nothing is imported: imports inside functions and
under ``TYPE_CHECKING`` count too, since they tie the files together just the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("survey", "scoring")
MAX_LINES = 700


def _modules() -> dict[str, Path]:
    """Dotted name → file, for every Python file under :data:`ROOTS` (migrations excluded)."""
    found: dict[str, Path] = {}
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(name: str, path: Path, modules: Mapping[str, Path], *, deferred: bool = True) -> set[str]:
    """The modules of :data:`ROOTS` that the file imports (the most specific one each import names).

    ``deferred=False`` leaves out the imports made inside a function.
    """
    package = _package_of(name, path)
    targets: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_functions = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if not deferred and id(node) in in_functions:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
    resolved: set[str] = set()
    for target in targets:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.add(target)
    return resolved


def _cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _file_graph() -> dict[str, set[str]]:
    """Module → the modules it imports, without the views → blueprint-package edge of the idiom above."""
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    for name, path in modules.items():
        if path.name != "__init__.py":
            continue
        at_load = _imports(name, path, modules, deferred=False)
        for child in graph[name] - at_load:
            if child.rpartition(".")[0] == name and name in graph[child]:
                graph[child].discard(name)
    return graph


def _related(one: str, other: str) -> bool:
    return one.startswith(other + ".") or other.startswith(one + ".")


def test_cycles_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_relative_lazy_and_type_checking_imports():
    graph = _file_graph()
    assert "scoring.errors" in graph["scoring.design"]  # from .errors import …
    assert "scoring.calibration" in graph["scoring.design"]  # under TYPE_CHECKING
    assert "survey.score" in graph["survey.services.publication"]  # inside a function
    assert "survey.commands.score" in graph["survey.commands.publication"]  # absolute


def test_the_blueprint_idiom_is_the_only_edge_left_out():
    modules = _modules()
    full = {name: _imports(name, path, modules) for name, path in modules.items()}
    graph = _file_graph()
    left_out = sorted((name, target) for name in full for target in full[name] - graph[name])
    assert left_out == [("survey.respond.routes", "survey.respond"), ("survey.results.routes", "survey.results")]


def test_no_import_circle_between_files():
    circles = _cycles(_file_graph())
    assert circles == [], "files that import each other in a loop (move the shared names to a lower module):\n" + (
        "\n".join(" ↔ ".join(c) for c in circles)
    )


def test_no_import_circle_between_packages():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, targets in _file_graph().items():
        package = _package_of(name, modules[name])
        for target in targets:
            other = _package_of(target, modules[target])
            if other != package and not _related(package, other):
                graph.setdefault(package, set()).add(other)
    circles = _cycles(graph)
    assert circles == [], "packages that import each other in a loop:\n" + "\n".join(" ↔ ".join(c) for c in circles)


def test_no_module_over_the_line_limit():
    long = {
        str(path.relative_to(REPO)): n
        for path in _modules().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"modules over {MAX_LINES} lines (split them along their seams): {long}"
