"""The code's shape, checked on every run: no source file over 600 lines, no imports of
the project's own packages hidden inside functions, no import cycles between modules, no
``sys.path`` hacks, and no two source files sharing a name. (The layers themselves are
import-linter contracts in pyproject.toml, run by ``make lint``.)"""

from __future__ import annotations

import ast
import subprocess
from collections import Counter
from pathlib import Path

import grimp
import pytest

from tests.paths import ROOT

PACKAGES = ("actions", "bot", "apps", "tools", "shop", "models", "retrieval", "protocol")
MAX_LINES = 600
# Same-named modules kept on purpose: the Rasa action module and the service it calls.
SHARED_NAMES = {"orders.py", "server.py"}


def _tracked_python() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / line for line in out.stdout.split() if (ROOT / line).is_file()]


def _source_files() -> list[Path]:
    return [p for p in _tracked_python() if p.relative_to(ROOT).parts[0] in PACKAGES]


def test_no_source_file_is_over_600_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _tracked_python()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def _own_imports_in_functions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom):
                names = ["." if sub.level else (sub.module or "")]
            elif isinstance(sub, ast.Import):
                names = [a.name for a in sub.names]
            else:
                continue
            found += [f"{path.relative_to(ROOT)}:{sub.lineno} {n}" for n in names
                      if n == "." or n.split(".")[0] in PACKAGES]
    return found


def test_no_function_level_imports_of_our_packages() -> None:
    code = [p for p in _tracked_python() if p.relative_to(ROOT).parts[0] in (*PACKAGES, "bench", "scripts")]
    hidden = [hit for p in code for hit in _own_imports_in_functions(p)]
    assert hidden == []


def test_no_sys_path_hacks() -> None:
    hacks = [str(p.relative_to(ROOT)) for p in _tracked_python()
             if "sys.path.insert" in p.read_text() and p.name != "test_layout.py"]
    assert hacks == []


def test_no_import_cycles_between_modules() -> None:
    graph = grimp.build_graph(*PACKAGES)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert cycles == []


def test_no_two_source_files_share_a_name() -> None:
    names = Counter(p.name for p in _source_files()
                    if p.name not in ("__init__.py", "__main__.py") and "migrations" not in p.parts)
    shared = {name for name, n in names.items() if n > 1} - SHARED_NAMES
    assert shared == set()


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_has_a_docstring(package: str) -> None:
    init = ROOT / package / "__init__.py"
    assert init.is_file(), f"{package}/__init__.py is missing"
    assert ast.get_docstring(ast.parse(init.read_text())), f"{package}/__init__.py says what it holds"
