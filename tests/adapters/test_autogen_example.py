"""examples/autogen_team.py runs a routed AgentChat team offline: cheaper than the unrouted team, pruning the reviewer."""

from __future__ import annotations

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
