"""The house's rules, checked on the code itself (issue 35): every module under ``common/`` holds one concept
in at most 350 lines; the import graph has no circle and no arrow from a lower floor up; an import inside a
function says why it is there (the one reason the suite accepts: ``--help`` answers before torch loads).

The floors, from the ground up (``common/__init__.py``):
  ground     ``common/base/`` (flags, errors, device, names), the registries (plain data) and the store
  rooms      the algorithms and their reports: data, networks, training, fisher, nas, studies, ...
  top floor, in three tiers:
    launching  how a step runs its jobs: ``run/launch.py``, ``run/launchers.py``, ``run/plan.py``, ...
    steps      each room's step body (``*/step.py``, ``dense/steps.py``, ``studies/*_step.py``)
    runner     ``run/pipeline.py``: reproduce.py's steps in order
A module imports its own floor (tier) or lower ones, never a higher one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMON = ROOT / "common"
MAX_LINES = 350

GROUND = re.compile(
    r"common(\.base(\..*)?|\.store(\..*)?|\.datasets|\.tasks|\.dense_tasks|\.presets|\.network_budgets|\.experiments|\.steps)?$"
)
LAUNCHING = re.compile(r"common\.run(\.launch|\.launchers|\.plan|\.throughputs)?$")
STEPS = re.compile(r"common\.\w+\.(step|steps|\w+_step)$")
TOP = re.compile(r"common\.run\.pipeline$")
FLOORS = ("ground", "rooms", "launching", "steps", "runner")


def floor(module: str) -> int:
    for i, pattern in ((4, TOP), (3, STEPS), (2, LAUNCHING), (0, GROUND)):
        if pattern.match(module):
            return i
    return 1


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(COMMON.rglob("*.py"))}


def imported(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules of ``common`` that one import statement names (a ``from X import y`` names X, and X.y
    when y is a submodule)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            package = module.split(".")
            if not MODULES[module].name == "__init__.py":
                package = package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join(package + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        names = [base] + [f"{base}.{a.name}" for a in node.names]
    return [n for n in names if n in MODULES and n != module]


def imports(module: str) -> list[tuple[str, ast.stmt, bool]]:
    """(imported module, statement, inside a function) for every import of ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    local = {
        id(s)
        for f in ast.walk(tree)
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
        for s in ast.walk(f)
        if isinstance(s, (ast.Import, ast.ImportFrom))
    }
    return [
        (target, node, id(node) in local)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for target in imported(module, node)
    ]


def test_every_module_is_at_most_350_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by concept): {long}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_circle():
    graph = {m: {t for t, _, _ in imports(m)} for m in MODULES}
    assert not cycles(graph)


def test_cycles_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize(
    "module, expected",
    [
        ("common.base.cli", "ground"),
        ("common.tasks", "ground"),
        ("common.store.cache", "ground"),
        ("common.fisher.matrices", "rooms"),
        ("common.report.claims", "rooms"),
        ("common.run.launch", "launching"),
        ("common.fisher.step", "steps"),
        ("common.studies.noise_floor_step", "steps"),
        ("common.run.launchers", "launching"),
        ("common.run.pipeline", "runner"),
    ],
)
def test_floors_of_known_modules(module, expected):
    assert FLOORS[floor(module)] == expected


def test_no_import_runs_from_a_lower_floor_up():
    up = [
        f"{m} ({FLOORS[floor(m)]}) imports {t} ({FLOORS[floor(t)]}), line {node.lineno}"
        for m in MODULES
        for t, node, _ in imports(m)
        if floor(t) > floor(m)
    ]
    assert not up, "\n".join(up)


def test_every_import_inside_a_function_says_why():
    """Inside a function, an import (of anything: torch, a room of the suite, a library) hides a
    dependency from the module's top; the suite keeps one for ``--help`` (torch loads after parsing) or
    for an optional library, and says so on its line or the line above."""
    missing = []
    for m, path in MODULES.items():
        lines = path.read_text().splitlines()
        tree = ast.parse(path.read_text())
        for f in ast.walk(tree):
            if not isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for s in ast.walk(f):
                if isinstance(s, (ast.Import, ast.ImportFrom)):
                    here, above = lines[s.lineno - 1], lines[s.lineno - 2].strip()
                    if "#" not in here and not above.startswith("#"):
                        missing.append(f"{path.relative_to(ROOT)}:{s.lineno}: {here.strip()}")
    assert not missing, "imports inside functions without a reason:\n" + "\n".join(sorted(set(missing)))
