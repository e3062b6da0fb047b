"""Fitted configuration priors (router_plugins.configuration_model), the learned select_mode plugin and their
out-of-fold evaluation: synthetic tables where the right answer is known, hostile model files, and the shared DyLAN /
RouteMoA data (skipped when absent)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from router_plugins.cards import ModelPool
from router_plugins.configuration_eval import evaluate_configurations, format_configurations, task_bound
from router_plugins.configuration_model import ConfigurationModel, fit_configurations
from router_plugins.configuration_selector import ConfigurationSelector, selector_choices
from router_plugins.errors import ConfigError, DataError
from router_plugins.options import PlanOptions
from router_plugins.query import Query
from router_plugins.replay import NO_SPLIT, OutcomeTable, load_outcomes
from router_plugins.router import Router
from shared_data import shared


def synthetic(per_task: int = 120, *, signal: bool, seed: int = 0) -> OutcomeTable:
    """Two configurations on four tasks. With ``signal``, 'big' is far better on tasks a/b and 'small' on c/d;
    without, both are equally good everywhere (pure noise). 'big' costs 3, 'small' 1 (+ a per-task offset)."""
    rng = np.random.default_rng(seed)
    tasks, q, c = [], [], []
    for t, (p_big, p_small) in zip("abcd", ((0.9, 0.4), (0.85, 0.5), (0.4, 0.9), (0.5, 0.85))):
        if not signal:
            p_big = p_small = 0.7
        for _ in range(per_task):
            tasks.append(t)
            q.append([float(rng.random() < p_big), float(rng.random() < p_small)])
            c.append([3.0 + (t == "a"), 1.0])
    n = len(tasks)
    return OutcomeTable(name="synthetic", texts=tuple(f"q{i}" for i in range(n)), tasks=np.array(tasks),
                        splits=np.full(n, NO_SPLIT), models=("big", "small"), quality=np.array(q), cost=np.array(c),
                        cost_unit="LLM calls", meta={"configurations": "synthetic", "cv_strata": "task"})


def test_fit_learns_per_task_differences_when_they_are_real() -> None:
    model = fit_configurations(synthetic(signal=True))
    assert math.isfinite(model.pseudo_counts["gap"])
    assert selector_choices(model, ["a", "b", "c", "d"]) == [0, 0, 1, 1]
    q, c = model.predict("a")
    assert q[0] > q[1] + 0.2 and c[0] == pytest.approx(4.0, rel=0.05)
    q_unknown, c_unknown = model.predict("never seen")
    assert q_unknown.tolist() == pytest.approx(model.mean_quality) and c_unknown.tolist() == pytest.approx(model.mean_cost)


def test_fit_ignores_tasks_when_differences_are_noise() -> None:
    model = fit_configurations(synthetic(signal=False, seed=3))
    assert math.isinf(model.pseudo_counts["gap"])  # no per-task switching without evidence
    choices = selector_choices(model, ["a", "b", "c", "d"])
    assert len(set(choices)) == 1


def test_out_of_fold_calibration_matches_recorded_means_and_selector_beats_fixed_with_signal() -> None:
    table = synthetic(signal=True)
    result = evaluate_configurations(table)
    for row in result["calibration"].values():
        assert abs(row["predicted_quality"] - row["recorded_quality"]) < 0.02
        assert abs(row["predicted_cost"] / row["recorded_cost"] - 1) < 0.1
    sel = result["configuration_selector"]
    assert sel["lambda0"]["vs_best_fixed"]["ci95"][0] > 0  # real per-task signal is found out of fold
    assert sel["task_bound"]["quality"] >= sel["lambda0"]["quality"] - 1e-9
    assert "learned selector" in format_configurations("synthetic", result, table.cost_unit)


def test_task_bound_is_per_task_best_on_own_rows() -> None:
    table = synthetic(signal=True)
    bound = task_bound(table)
    expected = np.mean([table.quality[table.tasks == t].mean(0).max() for t in "abcd"])
    assert bound["quality"] == pytest.approx(expected)


def test_model_round_trips_and_hostile_files_are_refused(tmp_path: Path) -> None:
    model = fit_configurations(synthetic(signal=True))
    back = ConfigurationModel.load(model.save(tmp_path / "m.json"))
    assert back == model
    bad = tmp_path / "bad.json"
    for text in ("not json {", json.dumps({"format": "other"}), json.dumps([1, 2]),
                 json.dumps({**model.to_json(), "mean_quality": ["nan", 0.5]}),
                 json.dumps({**model.to_json(), "mean_quality": [2.0, 0.5]}),
                 json.dumps({**model.to_json(), "task_cost": {"a": [1.0]}}),
                 "[" * 100_000 + "]" * 100_000):
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(DataError):
            ConfigurationModel.load(bad)
    bad.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(DataError):
        ConfigurationModel.load(bad)
    with pytest.raises(DataError):
        ConfigurationModel.load(tmp_path / "missing.json")


def test_selector_plugin_chooses_per_task_and_respects_lambda_and_budget(pool: ModelPool) -> None:
    model = fit_configurations(synthetic(signal=True))
    with pytest.raises(ConfigError, match="usd_per_unit"):
        ConfigurationSelector(model)  # cost in LLM calls: λ would mix units
    selector = ConfigurationSelector(model, usd_per_unit=0.001)
    router = Router(pool, plugins=[selector], load_entrypoints=False, modes=("big", "small"))
    plan = router.plan(Query("x", task="a"))
    meta = plan.metadata["configuration"]
    assert plan.mode == "big" and "fitted" in meta["reason"]
    assert meta["predicted"]["big"]["quality"] > meta["predicted"]["small"]["quality"]
    # a mode the model does not know competes with its prior (the planner's best draft for it)
    mixed = router.plan(Query("x", task="c"), options=PlanOptions(modes=("big", "small", "single")))
    assert "(prior)" in mixed.metadata["configuration"]["reason"]
    assert router.plan(Query("x", task="c")).mode == "small"
    # λ large enough that 2 extra calls outweigh the quality gap on task a
    assert router.plan(Query("x", task="a"), options=PlanOptions(lam=1000.0)).mode in {"small", "single"}
    # the budget binds on the fitted cost too: 'big' costs ≈ 4 calls × $0.001 on task a
    assert router.plan(Query("x", task="a", budget_usd=0.002)).mode == "small"
    # modes the model does not know keep their priors: with only them, the built-in planner decides
    assert router.plan(Query("x", task="a"), options=PlanOptions(modes=("single", "full"))).mode in {"single", "full"}


def test_shared_dylan_and_routemoa_meet_the_calibration_and_selector_targets() -> None:
    for folder in ("dylan_multiagent_mmlu", "routemoa_multiagent"):
        table = load_outcomes(shared(folder))
        result = evaluate_configurations(table)
        for row in result["calibration"].values():
            assert abs(row["predicted_quality"] - row["recorded_quality"]) <= 0.02
            assert abs(row["predicted_cost"] / row["recorded_cost"] - 1) <= 0.10
        sel = result["configuration_selector"]
        top = sel["best_at_most_best_fixed_cost"]
        assert top["cost"] <= sel["best_fixed"]["cost"] + 1e-9
        assert top["quality"] >= sel["best_fixed"]["quality"] - 1e-9
