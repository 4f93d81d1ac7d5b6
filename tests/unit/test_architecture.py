"""The shape of the code base, held as tests: no import circles, small modules, small classes.

A newcomer holds a module or a class in their head at once; these limits keep that possible, and a
circle between modules is a definition that sits in the wrong place.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = [
    ROOT / "layers" / "core" / "python" / "contact_center",
    ROOT / "sip_edge",
    ROOT / "functions",
    ROOT / "infra" / "local_stack",
    ROOT / "infra" / "switchboard_infra",
]
MODULE_LINES_MAX = 500
CLASS_LINES_MAX = 300


def _runtime_files() -> Iterator[Path]:
    for folder in RUNTIME:
        yield from sorted(folder.rglob("*.py"))


def _circles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), imports inside ``package`` only."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith(package):
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module.startswith(package) and module not in index:
            visit(module)
    return found


@pytest.mark.parametrize("package", ["contact_center", "sip_edge", "local_stack", "switchboard_infra"])
def test_no_package_has_an_import_circle(package: str) -> None:
    # Type-only imports count too: a circle "only for typing" still names a misplaced definition.
    graph = grimp.build_graph(package, include_external_packages=False)
    assert _circles(graph, package) == []


def test_no_runtime_module_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _runtime_files()
        if (lines := len(path.read_text().splitlines())) > MODULE_LINES_MAX
    }
    assert long == {}


def test_no_runtime_class_is_over_300_lines() -> None:
    long = {}
    for path in _runtime_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > CLASS_LINES_MAX:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = lines
    assert long == {}
