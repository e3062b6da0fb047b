"""The command line: plan / models / plugins / demo, and one-line errors with a non-zero exit on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from router_plugins import Plan

POOL = """
[[models]]
name = "small"
input_price = 0.1
output_price = 0.2
quality = 0.6

[[models]]
name = "big"
input_price = 10
output_price = 30
quality = 0.9
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "router_plugins", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def pool_file(tmp_path: Path) -> Path:
    path = tmp_path / "pool.toml"
    path.write_text(POOL)
    return path


def test_plan_json(pool_file: Path) -> None:
    result = cli("plan", "What is 2+3?", "--pool", str(pool_file), "--roles", "solver,critic?", "--json")
    assert result.returncode == 0, result.stderr
    plan = Plan.from_json(result.stdout)
    assert plan.assignments["solver"] == "big"


def test_plan_text_and_models(pool_file: Path) -> None:
    result = cli("plan", "hi", "--pool", str(pool_file), "--lam", "1e6")
    assert result.returncode == 0 and "small" in result.stdout
    result = cli("models", "--pool", str(pool_file))
    assert result.returncode == 0 and "big" in result.stdout and "0.90" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "", "--pool", "{pool}"], "query is empty"),
        (["plan", "x", "--pool", "{missing}"], "does not exist"),
        (["plan", "x", "--pool", "{bad}"], "malformed"),
        (["plan", "x", "--pool", "{pool}", "--budget", "1e-12"], "cheapest plan costs"),
        (["plan", "x", "--pool", "{pool}", "--modes", "telepathy"], "unknown mode"),
        (["models", "--pool", "{bad}"], "malformed"),
    ],
)
def test_bad_input_is_one_line_error(pool_file: Path, tmp_path: Path, args: list[str], message: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[models]\n")
    filled = [a.format(pool=pool_file, missing=tmp_path / "none.toml", bad=bad) for a in args]
    result = cli(*filled)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_demo_runs_on_embedded_data() -> None:
    result = cli("demo", "--json", "--team-queries", "20")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    routing, team = data["routing"], data["team"]
    assert routing["dataset"] == "llmrouter_nim9" and routing["n"] == 500 and routing["cost_estimated"]
    assert [(r["scorer"], r["lambda"]) for r in routing["routed"]] == [
        (s, lam) for s in ("trained", "prior") for lam in (0.0, 100.0, 1000.0)
    ]
    assert team["n_queries"] == 20 and {r["kind"] for r in team["results"]} == {"routed", "most_expensive", "single"}
    configurations = data["configurations"]  # the multi-agent table: embedded DyLAN and RouteMoA outcomes
    assert set(configurations) == {"dylan_multiagent_mmlu", "routemoa_multiagent"}
    assert set(configurations["dylan_multiagent_mmlu"]["calibration"]) == {f"n_agents={n}" for n in (2, 3, 4, 7)}


def test_demo_text_shows_both_parts() -> None:
    result = cli("demo", "--team-queries", "10")
    assert result.returncode == 0, result.stderr
    assert "routed (trained) λ=100" in result.stdout and "LangGraph team" in result.stdout and "pruned" in result.stdout
    assert "learned configuration selector" in result.stdout and "always n_agents=4" in result.stdout


def test_plugins_lists_builtins() -> None:
    result = cli("plugins")
    assert result.returncode == 0
    assert "router_plugins.default_plugins.cascade" in result.stdout and "route_role" in result.stdout
