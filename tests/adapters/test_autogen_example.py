"""examples/autogen_team.py runs a routed AgentChat team offline: cheaper than the unrouted team, pruning the reviewer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from examples_loader import load_example

pytest.importorskip("autogen_agentchat")


def test_autogen_example_routes_the_team(capsys: pytest.CaptureFixture[str]) -> None:
    results = load_example("autogen_team").main(["--queries", "60", "--lambdas", "0", "1000"])
    unrouted = next(r for name, r in results.items() if name.startswith("unrouted"))
    cheap, best = results["routed λ=1000"], results["routed λ=0"]
    assert cheap["cost_usd"] < 0.3 * unrouted["cost_usd"] and cheap["agents"] < 2.0  # the reviewer is pruned
    assert best["quality_low"] >= unrouted["quality_low"] - 0.1 and best["cost_usd"] < unrouted["cost_usd"]
    assert all(r["quality_low"] <= r["quality_high"] for r in results.values())
    assert "AutoGen RoundRobinGroupChat" in capsys.readouterr().out


def test_autogen_example_runs_without_langchain(tmp_path: Any) -> None:
    """The AutoGen adapter imports only AutoGen: the example runs with every LangChain / LangGraph import blocked."""
    example = Path(__file__).resolve().parents[2] / "examples" / "autogen_team.py"
    code = (
        "import importlib.abc, runpy, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('langchain_core', 'langchain', 'langgraph'):\n"
        "            raise ImportError(f'{name} is blocked in this test')\n"
        "        return None\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.argv = [{str(example)!r}, '--queries', '10', '--lambdas', '0']\n"
        f"runpy.run_path({str(example)!r}, run_name='__main__')\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'langchain', 'langgraph')]\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                         env={**os.environ, "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "AutoGen RoundRobinGroupChat" in out.stdout
