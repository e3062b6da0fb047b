"""The replay demo on the embedded data: routed numbers are real replays and behave as λ says."""

from __future__ import annotations

import numpy as np

from router_plugins.replay import load_outcomes
from router_plugins.replay.demo import embedded_data_path, format_demo, run_demo, task_prior_pool


def test_demo_routes_better_than_baselines_and_trades_cost() -> None:
    result = run_demo(lambdas=(0.0, 100.0, 1000.0, 1e6))
    base = result["baselines"]
    cheapest = min(base[m]["cost"] for m in result["models"])
    for scorer in ("trained", "prior"):
        routed = [r for r in result["routed"] if r["scorer"] == scorer]
        costs = [r["cost"] for r in routed]
        qualities = [r["quality"] for r in routed]
        assert len(routed) == 4
        assert all(a >= b - 1e-12 for a, b in zip(costs, costs[1:])), f"{scorer}: cost must not rise with λ"
        assert qualities[0] > base["random"]["quality"]
        assert qualities[0] <= base["oracle"]["quality"]
        assert abs(costs[-1] - cheapest) < 1e-12, "a huge λ routes everything to the cheapest model"
    text = format_demo(result)
    assert "estimated" in text and "oracle" in text and "routed (trained) λ=100" in text


def test_task_prior_comes_from_train_only() -> None:
    table = load_outcomes(embedded_data_path())
    train = table.split("train")
    pool = task_prior_pool(table, train)
    j = table.models.index("gemma-2-9b-it")
    gsm = train.quality[train.tasks == "gsm8k", j]
    assert pool["gemma-2-9b-it"].prior_quality("gsm8k") == np.nanmean(gsm)


def test_configuration_demo_runs_on_embedded_multiagent_outcomes() -> None:
    from router_plugins.replay.configuration_demo import (
        CONFIGURATION_SETS,
        format_configuration_demo,
        run_configuration_demo,
    )

    result = run_configuration_demo()
    assert list(result) == list(CONFIGURATION_SETS)
    assert (result["dylan_multiagent_mmlu"]["n"], result["routemoa_multiagent"]["n"]) == (2809, 345)
    for r in result.values():
        assert "router_plugins/data" in r["source"].replace("\\", "/")
        sel = r["configuration_selector"]
        assert set(sel["fixed"]) == set(r["calibration"])
        assert sel["lambda0"]["quality"] <= sel["oracle"]["quality"] + 1e-9
        cheapest = min(b["cost"] for b in sel["fixed"].values())
        assert sel["points"][-1]["cost"] <= cheapest * 1.05, "the largest λ routes (almost) everything to the cheapest"
    text = format_configuration_demo(result)
    assert "always n_agents=7" in text and "always routemoa" in text and "oracle" in text
