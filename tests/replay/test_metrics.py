"""Replay evaluation: NaN-masked means, baselines, AIQ (RouterBench) and cost-to-match."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_data import shared

from router_plugins.replay import (
    OutcomeTable,
    aiq,
    baselines,
    bootstrap_ci,
    cost_quality_hull,
    cost_to_match,
    evaluate_choices,
    load_outcomes,
    oracle_choices,
    per_task_quality,
)


def table3(*, cost: bool = True) -> OutcomeTable:
    """4 queries × 3 models; model 'b' has no recorded outcome on query 1."""
    quality = np.array(
        [
            [1.0, 1.0, 1.0],
            [0.0, np.nan, 1.0],
            [0.0, 1.0, 1.0],
            [1.0, 0.0, 0.0],
        ]
    )
    costs = np.array([[1.0, 2.0, 10.0]] * 4)
    return OutcomeTable(
        name="toy",
        texts=("q0", "q1", "q2", "q3"),
        tasks=np.array(["x", "x", "y", "y"]),
        splits=np.array(["test"] * 4),
        models=("a", "b", "c"),
        quality=quality,
        cost=costs if cost else None,
    )


# --- evaluate_choices / per_task_quality --------------------------------------------------------------------------


def test_nan_outcomes_are_masked_not_counted_as_zero() -> None:
    q, c = evaluate_choices(table3(), np.array([1, 1, 1, 1]))
    assert q == pytest.approx(2 / 3)  # rows 0, 2, 3 → (1 + 1 + 0) / 3; a NaN-as-0 bug would give 0.5
    assert c == pytest.approx(2.0)


def test_evaluate_choices_mixes_models_and_reports_no_cost_without_costs() -> None:
    q, c = evaluate_choices(table3(), np.array([0, 2, 1, 0]))
    assert q == 1.0 and c == pytest.approx((1 + 10 + 2 + 1) / 4)
    q2, c2 = evaluate_choices(table3(cost=False), np.array([0, 2, 1, 0]))
    assert q2 == 1.0 and c2 is None


def test_bad_choices_are_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        evaluate_choices(table3(), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        evaluate_choices(table3(), np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="integer"):
        evaluate_choices(table3(), np.array([0.0, 1.0, 2.0, 0.0]))


def test_per_task_quality() -> None:
    assert per_task_quality(table3(), np.array([1, 1, 1, 1])) == {"x": 1.0, "y": 0.5}
    assert per_task_quality(table3(), np.array([0, 0, 0, 0])) == {"x": 0.5, "y": 0.5}


# --- baselines ----------------------------------------------------------------------------------------------------


def test_baselines_on_a_hand_checked_table() -> None:
    b = baselines(table3())
    assert b["a"] == {"quality": 0.5, "cost": 1.0}
    assert b["b"] == {"quality": pytest.approx(2 / 3), "cost": 2.0}
    assert b["c"] == {"quality": 0.75, "cost": 10.0}
    assert b["best_single"] == {"name": "c", "quality": 0.75, "cost": 10.0}
    assert b["most_expensive"] == {"name": "c", "quality": 0.75, "cost": 10.0}
    # oracle: q0 → a (all correct, a cheapest), q1 → c, q2 → b (cheaper than c), q3 → a
    assert oracle_choices(table3()).tolist() == [0, 2, 1, 0]
    assert b["oracle"] == {"quality": 1.0, "cost": pytest.approx(14 / 4)}
    assert b["random"] == baselines(table3(), seed=0)["random"]
    assert b["random"]["seed"] == 0


def test_best_single_ties_go_to_the_cheaper_model() -> None:
    table = OutcomeTable(
        name="tie",
        texts=("q0", "q1"),
        tasks=np.array(["t", "t"]),
        splits=np.array(["test", "test"]),
        models=("dear", "cheap"),
        quality=np.array([[1.0, 1.0], [0.0, 0.0]]),
        cost=np.array([[5.0, 1.0], [5.0, 1.0]]),
    )
    b = baselines(table)
    assert b["best_single"]["name"] == "cheap"  # type: ignore[index]
    assert b["most_expensive"]["name"] == "dear"  # type: ignore[index]


def test_baselines_without_cost() -> None:
    b = baselines(table3(cost=False))
    assert b["most_expensive"] is None
    assert b["best_single"] == {"name": "c", "quality": 0.75, "cost": None}
    assert b["oracle"]["cost"] is None  # type: ignore[index]


@pytest.mark.parametrize(
    "folder",
    ["routerbench_via_routerdc", "routerdc_7llm", "routellm_gpt4_mixtral", "llmrouter_nim9", "routerarena_sub10"],
)
def test_oracle_is_at_least_best_single_on_every_test_split(folder: str) -> None:
    b = baselines(load_outcomes(shared(folder)).split("test"))
    assert b["oracle"]["quality"] >= b["best_single"]["quality"]  # type: ignore[index]
    assert b["best_single"]["quality"] >= b["random"]["quality"]  # type: ignore[index]


# --- AIQ and cost-to-match ----------------------------------------------------------------------------------------

# Hand computation. Points (cost, quality):
#   (0, 0.2), (1, 0.6), (2, 0.7), (4, 0.8)  — slopes 0.4, 0.1, 0.05: concave, all four are hull vertices;
#   (3, 0.7) lies under the chord (2, 0.7)–(4, 0.8) (0.75 at cost 3): not on the hull;
#   (5, 0.75) is costlier and worse than (4, 0.8): beyond the peak, ignored.
# Area under the hull on [0, 4] (trapezoids): (0.2+0.6)/2·1 + (0.6+0.7)/2·1 + (0.7+0.8)/2·2 = 0.4 + 0.65 + 1.5 = 2.55.
# Largest hull cost = 4 → AIQ = 2.55 / 4 = 0.6375.  With max_cost = 5: (2.55 + 0.8·1) / 5 = 0.67.
POINTS = [(0.0, 0.2), (1.0, 0.6), (2.0, 0.7), (4.0, 0.8), (3.0, 0.7), (5.0, 0.75)]


def test_hull_of_the_hand_example() -> None:
    assert cost_quality_hull(POINTS).tolist() == [[0.0, 0.2], [1.0, 0.6], [2.0, 0.7], [4.0, 0.8]]


def test_aiq_hand_example() -> None:
    assert aiq(POINTS) == pytest.approx(0.6375)
    assert aiq(POINTS, max_cost=5.0) == pytest.approx(0.67)


def test_aiq_counts_the_span_below_the_cheapest_point_as_zero() -> None:
    # RouterBench integrates from the router's cheapest point: (1, 0.5)–(3, 0.9) → area (0.5+0.9)/2·2 = 1.4;
    # (2, 0.6) and (2.5, 0.55) lie under that chord (0.7 and 0.8 there). AIQ = 1.4 / 3; to cost 4: (1.4 + 0.9) / 4.
    pts = [(1.0, 0.5), (2.0, 0.6), (3.0, 0.9), (4.0, 0.8), (2.5, 0.55)]
    assert aiq(pts) == pytest.approx(1.4 / 3)
    assert aiq(pts, max_cost=4.0) == pytest.approx(2.3 / 4)


def test_aiq_edge_cases() -> None:
    assert aiq([(0.0, 0.7)], max_cost=3.0) == pytest.approx(0.7)  # quality q at zero cost → AIQ q
    assert aiq([(0.0, 0.7)]) == pytest.approx(0.7)
    assert aiq([(2.0, 0.9)], max_cost=4.0) == pytest.approx(0.9 * 2 / 4)
    assert aiq([(2.0, 0.9)]) == 0.0  # alone, a single costly point has no area (RouterBench)
    with pytest.raises(ValueError, match="below the cost"):
        aiq(POINTS, max_cost=3.0)
    with pytest.raises(ValueError, match="at least one"):
        aiq([])
    with pytest.raises(ValueError, match="finite"):
        aiq([(1.0, float("nan"))])


def test_cost_to_match_hand_example() -> None:
    # target 0.65 lies between (1, 0.6) and (2, 0.7) → cost 1.5 → 1.5 / 4 of the target's cost
    assert cost_to_match(POINTS, 0.65, 4.0) == pytest.approx(0.375)
    assert cost_to_match(POINTS, 0.8, 4.0) == pytest.approx(1.0)
    assert cost_to_match(POINTS, 0.1, 4.0) == pytest.approx(0.0)  # the cheapest point already does
    assert cost_to_match(POINTS, 0.9, 4.0) is None
    with pytest.raises(ValueError, match="target_cost"):
        cost_to_match(POINTS, 0.5, 0.0)


def _brute_upper(points: list[tuple[float, float]], x: float) -> float:
    """Upper concave envelope at x: best point or chord between two points spanning x (RouterBench's lifting)."""
    best = max((q for c, q in points if c == x), default=-np.inf)
    for c0, q0 in points:
        for c1, q1 in points:
            if c0 < x < c1:
                best = max(best, q0 + (q1 - q0) * (x - c0) / (c1 - c0))
    return best


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 20).map(float), st.integers(0, 100).map(lambda v: v / 100)),
        min_size=1,
        max_size=8,
    )
)
def test_hull_is_the_non_decreasing_upper_envelope(points: list[tuple[float, float]]) -> None:
    hull = cost_quality_hull(points)
    assert (np.diff(hull[:, 0]) > 0).all() and (np.diff(hull[:, 1]) >= -1e-12).all()
    assert hull[-1, 1] == max(q for _, q in points)
    for c, q in hull:
        assert q == pytest.approx(_brute_upper(points, c))  # every vertex is on the upper envelope
    assert 0.0 <= aiq(points, max_cost=21.0) <= hull[-1, 1] + 1e-12


def test_bootstrap_interval_covers_the_mean_and_narrows_with_more_rows() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.binomial(1, 0.6, 100).astype(float), rng.binomial(1, 0.6, 10_000).astype(float)
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    assert 0.15 < hi_s - lo_s < 0.25  # ≈ 2 × 1.96 × sqrt(0.24 / 100)
    assert hi_l - lo_l < (hi_s - lo_s) / 5
    assert bootstrap_ci([1.0, np.nan, 1.0]) == (1.0, 1.0)  # NaN rows dropped
    assert all(np.isnan(bootstrap_ci([np.nan])))


def test_grouped_bootstrap_averages_group_means() -> None:
    """Two tasks of very different sizes: the statistic is the mean of the two task means, not the row mean."""
    values = np.r_[np.ones(10), np.zeros(990)]
    groups = np.r_[np.zeros(10), np.ones(990)]
    assert bootstrap_ci(values, groups) == (0.5, 0.5)
    with pytest.raises(ValueError, match="one entry per value"):
        bootstrap_ci(values, groups[:5])
