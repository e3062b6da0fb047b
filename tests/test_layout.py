"""The package's shape: no module-level import cycles, small modules, and a plain checkout that plans."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Source folder → installed package name (pyproject's package-dir mapping).
PACKAGES = {"router_plugins": "router_plugins", "adapters": "router_plugins.adapters", "scorer": "router_plugins.scorer"}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            if "build" in path.parts:
                continue
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Modules of the package imported when ``module`` is imported (module level, outside TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    targets: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                submodules = {f"{base}.{a.name}" for a in node.names} & known
                targets.update(submodules)
                if len(submodules) < len(node.names):  # names from the module itself, not submodules of a package
                    targets.add(base)

    visit(tree.body)
    return {t for t in targets if t in known and t != module}


def test_no_module_level_import_cycles() -> None:
    modules = _modules()
    graph = {m: _top_level_imports(p, m, set(modules)) for m, p in modules.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def dfs(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                dfs(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            dfs(node)
    assert not cycles, "module-level import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_cycle_detector_sees_a_cycle(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from router_plugins.b import x\n")
    b.write_text("import router_plugins.a\n")
    known = {"router_plugins.a", "router_plugins.b"}
    assert _top_level_imports(a, "router_plugins.a", known) == {"router_plugins.b"}
    assert _top_level_imports(b, "router_plugins.b", known) == {"router_plugins.a"}


def test_no_module_over_400_lines() -> None:
    long = {m: n for m, p in _modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_a_plain_checkout_plans_without_the_scorer(tmp_path: Path) -> None:
    # from a checkout (no install), router_plugins.scorer does not exist: the trained scorer is skipped, priors plan
    shutil.copytree(ROOT / "router_plugins", tmp_path / "router_plugins", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import importlib.util, sys\n"
        # an installed copy (editable or not) must not be what runs: drop its finders and site path
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in getattr(f, '__module__', '')]\n"
        "import router_plugins\n"
        f"assert router_plugins.__file__.startswith({str(tmp_path)!r}), router_plugins.__file__\n"
        "assert importlib.util.find_spec('router_plugins.scorer') is None\n"
        "from router_plugins import Router, ModelCard\n"
        "print(Router([ModelCard(name='m')]).plan('hi').assignments)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'default': 'm'}"


def test_langgraph_private_internals_are_all_present() -> None:
    pytest.importorskip("langgraph")
    from router_plugins.adapters.langgraph import _compat

    _compat.check()  # names the missing attribute when a LangGraph release renames one
