"""The layering of ``src/serviceplaybook``: imports point one way, with no cycle.

The source is parsed, not imported, so every import counts: at module level, inside a
function (a lazy import), and under ``if TYPE_CHECKING:`` (a cycle hidden from the runtime is
still a cycle for a reader). ``docs/architecture.md`` describes the layers this test holds.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SOURCE / "serviceplaybook"

# Lowest first. A module may import modules of its own layer or of a lower one, never of a
# higher one. A module belongs to the first layer one of whose prefixes its name starts with.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("errors", ("_errors", "_version")),
    ("records", ("_records",)),
    ("serialization", ("_serialization",)),
    ("machine", ("_playbook",)),
    ("policies", ("_policies",)),
    ("ports", ("_ports",)),
    ("adapters", ("adapters",)),
    ("playbook file", ("_playbook_file",)),
    ("facade", ("_desk", "_desk_arguments", "_privacy")),
    ("tools", ("_cli", "_demo", "testing", "insights", "training", "__main__")),
    ("surface", ("",)),
)


def module_name(path: Path) -> str:
    """``serviceplaybook._records.money`` for ``src/serviceplaybook/_records/money.py``."""
    parts = path.relative_to(SOURCE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = modules()


def layer_of(module: str) -> int:
    relative = module.removeprefix("serviceplaybook").removeprefix(".")
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if relative == prefix or relative.startswith(f"{prefix}.") or prefix == relative == "":
                return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")


def imported_modules(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """(module imported, line) for every import of the package in ``path``, wherever it is."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "serviceplaybook":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "serviceplaybook":
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield (submodule if submodule in MODULES else target), node.lineno


def graph() -> dict[str, dict[str, int]]:
    edges: dict[str, dict[str, int]] = {}
    for module, path in MODULES.items():
        edges[module] = {}
        for target, line in imported_modules(module, path):
            assert target in MODULES, f"{module}:{line} imports {target}, which does not exist"
            if target != module:
                edges[module].setdefault(target, line)
    return edges


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_there_is_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{module}:{line} ({LAYERS[layer_of(module)][0]}) imports {target} "
        f"({LAYERS[layer_of(target)][0]})"
        for module, targets in graph().items()
        for target, line in targets.items()
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_records_import_nothing_but_records_and_errors() -> None:
    edges = graph()
    for module in MODULES:
        if layer_of(module) == 1:
            assert {layer_of(target) for target in edges[module]} <= {0, 1}, module


def test_the_checker_finds_a_cycle_and_an_upward_import() -> None:
    """The checks above would fail on the kind of layout they guard against."""
    edges = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert layer_of("serviceplaybook._records.money") < layer_of("serviceplaybook._desk")
    assert layer_of("serviceplaybook.adapters.sqlite") < layer_of("serviceplaybook._desk")


def test_a_hidden_type_checking_import_counts(tmp_path: Path) -> None:
    fake = tmp_path / "fake.py"
    fake.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from serviceplaybook._desk import ServiceDesk\n"
        "def later():\n"
        "    from serviceplaybook.adapters import sqlite\n"
    )
    found = dict(imported_modules("serviceplaybook._records.fake", fake))
    assert set(found) == {"serviceplaybook._desk", "serviceplaybook.adapters.sqlite"}


@pytest.mark.parametrize(
    "heavy",
    ["sqlite3", "tomllib", "serviceplaybook.adapters.sqlite", "serviceplaybook._playbook_file"],
)
def test_importing_the_package_loads_neither_sqlite_nor_the_toml_reader(heavy: str) -> None:
    code = f"import sys, serviceplaybook; print({heavy!r} in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"
