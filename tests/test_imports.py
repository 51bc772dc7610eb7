"""The package imports in one direction: no cycle among actbench's modules or its subpackages, and the
catalogues sit at the bottom, importing nothing of actbench.

Read from the source, so nothing is imported to check it: every import counts, at module level, under
`if TYPE_CHECKING:` and inside functions (a lazy import, kept for start-up time, is a dependency still).
"""

import ast
from pathlib import Path

import pytest

from helpers import REPO

PACKAGE = REPO / "actbench"
LEAVES = [
    "actbench.dataset_catalogue",
    "actbench.errors",
    "actbench.metrics_catalogue",
    "actbench.naming",
    "actbench.outputs",
    "actbench.settings_catalogue",
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def every_import(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def imported_modules(name: str) -> set[str]:
    """The actbench modules that importing `name` runs first: each one named, and every package on the
    way to it (importing a.b.c runs a/__init__ and a/b/__init__), but not the packages `name` is in."""
    path = MODULES[name]
    found = set()
    for node in every_import(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:  # relative: from the module's own package up
                anchor = name.split(".")[: len(name.split(".")) - (path.name != "__init__.py") - node.level + 1]
                base = ".".join(anchor + [base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            parts = target.split(".")
            for prefix in (".".join(parts[:end]) for end in range(1, len(parts) + 1)):
                if prefix in MODULES and prefix != name and not name.startswith(prefix + "."):
                    found.add(prefix)
    return found


GRAPH = {name: imported_modules(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one node (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def unit(name: str) -> str:
    """The top-level module or subpackage a module belongs to: actbench.config.grid -> actbench.config."""
    return ".".join(name.split(".")[:2])


def test_no_module_imports_itself_through_others():
    assert cycles(GRAPH) == []


def test_no_two_subpackages_import_each_other():
    between = {unit(name): set() for name in GRAPH}
    for name, imported in GRAPH.items():
        between[unit(name)] |= {unit(other) for other in imported if unit(other) != unit(name)}
    assert cycles(between) == []


@pytest.mark.parametrize("leaf", LEAVES)
def test_a_catalogue_imports_nothing_of_actbench(leaf):
    assert GRAPH[leaf] == set()


def test_the_check_sees_imports_inside_functions_too():
    # actbench/executors/base.py imports the training package only once a run trains.
    assert "actbench.training" in GRAPH["actbench.executors.base"]


def test_the_check_sees_a_cycle_and_the_packages_on_the_way():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    # plan imports actbench.datasets.cache, which runs actbench.datasets' __init__ first
    assert {"actbench.datasets", "actbench.datasets.cache"} <= GRAPH["actbench.planning"]
    assert "actbench.config" not in GRAPH["actbench.config.grid"]  # its own package is already importing
