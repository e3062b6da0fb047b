"""Packaging: a light import, the package-dir mapping in a built wheel, the console script, the example plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "langgraph", "langchain", "langchain_core", "autogen_core", "autogen_agentchat")


def _run(code: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_import_is_light() -> None:
    code = (
        "import sys, router_plugins\n"
        "from router_plugins import Router, ModelCard\n"
        "Router([ModelCard(name='m')], load_entrypoints=False).plan('hi')\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-w", str(out / "dist")],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((out / "dist").glob("router_plugins-*.whl"))
    site = out / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return site


def test_wheel_installs_subpackages_inside_namespace(wheel_site: Path, tmp_path: Path) -> None:
    assert not (wheel_site / "adapters").exists() and not (wheel_site / "scorer").exists()
    assert (wheel_site / "router_plugins" / "py.typed").exists()
    assert (wheel_site / "router_plugins" / "data" / "llmrouter_nim9" / "llmrouter_nim9_scores.csv.gz").exists()
    env = {**os.environ, "PYTHONPATH": str(wheel_site)}
    code = (
        "import pkgutil, importlib, router_plugins\n"
        "assert router_plugins.__file__.startswith(%r), router_plugins.__file__\n"
        "names = [m.name for m in pkgutil.walk_packages(router_plugins.__path__, 'router_plugins.')"
        " if m.ispkg]\n"
        "[importlib.import_module(n) for n in names]\n"
        "print(sorted(names))"
    ) % str(wheel_site)
    result = _run(code, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "router_plugins.adapters" in result.stdout and "router_plugins.scorer" in result.stdout


def test_third_party_plugin_via_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--target", str(site),
         str(REPO / "examples" / "custom_plugin")],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    code = (
        "from router_plugins import Router, ModelCard, Query\n"
        "pool = [ModelCard(name='small', quality=0.5), ModelCard(name='big', quality=0.9)]\n"
        "r = Router(pool)\n"
        "print(r.plan(Query('hi', tenant='acme')).assignments['default'],"
        " r.plan(Query('hi', tenant='other')).assignments['default'])\n"
        "from router_plugins._plugins import describe_plugins\n"
        "print([p['name'] for p in describe_plugins(r.pm) if not p['builtin']])"
    )
    env = {k: v for k, v in os.environ.items() if k != "ROUTER_PLUGINS_LOAD"}
    env.update(PYTHONPATH=str(site), ROUTER_TENANT_PINS="acme=small")
    result = _run(code, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["small big", "['tenant_pin']"]
    # ROUTER_PLUGINS_LOAD="" switches installed plugins off: the plan changes back
    result = _run(code, env={**env, "ROUTER_PLUGINS_LOAD": ""}, cwd=tmp_path)
    assert result.stdout.splitlines() == ["big big", "[]"]
