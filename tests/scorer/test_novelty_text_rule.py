"""The text shrinkage (for unlabelled queries) is chosen by the never-worse rule, like ``label_shrink``: every held-out
training family at least at the fold's best single model, then the best mean held-out quality; the in-distribution
cost (read without labels) stays visible in the grid, and when no strength keeps every family the worst shortfall
decides."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from router_plugins.errors import ConfigError

from router_plugins.scorer.novelty import SHRINK_RAMP
from router_plugins.scorer.novelty_training import (SHRINK_MAXES, SHRINK_STARTS, _shrinkage, choose_strength,
                                                    strength_table)
from router_plugins.scorer.pipeline import train_novelty
from router_plugins.scorer.training import TrainConfig

from .test_novelty import LookupEncoder, make_table

STARTS = (0.5, 0.9, 0.99, 1.0, 1.5, 2.0, 3.0)
MAXES = (0.0, 0.25, 0.5, 0.75, 1.0)
N_ID = 200
#: Not routing (the robust prior's pick) is model 0; the router predicts model 1 and flips to 0 above weight 0.78.
PRIOR = np.array([0.6, 0.4])
PICK_1 = np.array([0.2, 0.9])


def _folds(near_raw: NDArray[np.float64]) -> tuple[list[dict], NDArray[np.float64]]:
    """Two folds sharing the in-distribution rows (raw scores uniform on [0, 1], model 1 right and predicted right):
    a *near* family with raw scores ``near_raw`` (extended scores about the same) and a *far* one (raw 10: extended
    score ≈ 19), on both of which the router picks model 1 while model 0 (not routing) is right."""
    n_near, n_far = len(near_raw), 50
    y = np.vstack([np.tile([0.0, 1.0], (N_ID, 1)), np.tile([1.0, 0.0], (n_near + n_far, 1))])
    cal = np.zeros(len(y), dtype=bool)
    cal[:N_ID] = True
    f_cal = np.linspace(0.0, 1.0, N_ID)[:, None]
    folds = []
    near, far = np.arange(N_ID, N_ID + n_near), np.arange(N_ID + n_near, len(y))
    for rows, raw in ((near, near_raw), (far, np.full(n_far, 10.0))):
        out = np.zeros(len(y), dtype=bool)
        out[rows] = True
        folds.append({"f_cal": f_cal, "f_out": np.asarray(raw)[:, None], "cal": cal, "out": out, "prior": PRIOR,
                      "p_cal": np.tile(PICK_1, (N_ID, 1)), "p_out": np.tile(PICK_1, (len(rows), 1))})
    return folds, y


def _previous_rule(grid: dict[str, list[float]], id_tolerance: float = 0.0025) -> str:
    """The rule before: best mean held-out quality with validation quality within 0.25 points of no shrinkage."""
    base = next(v[0] for k, v in grid.items() if k.endswith(",max=0"))
    return max((k for k, v in grid.items() if v[0] >= base - id_tolerance), key=lambda k: grid[k][1])


def test_text_strength_keeps_a_near_family_never_worse() -> None:
    # the near family scores 0.95: only start 0.5 with max 1 shrinks it enough, and that also shrinks the top ~11 %
    # of in-distribution queries, which the previous rule's 0.25-point validation constraint refused
    folds, y = _folds(np.full(50, 0.95))
    start, top, _, grid = _shrinkage(folds, [1.0], y, STARTS, MAXES)
    assert (start, top) == (0.5, 1.0)
    q_id, q_out, worst = grid["start=0.5,max=1"]
    assert q_out == 1.0 and worst >= -0.005  # both families at not routing's quality
    assert q_id < grid["start=3,max=0"][0] - 0.05  # the in-distribution cost is recorded, not hidden
    previous = _previous_rule(grid)
    assert grid[previous][2] <= -0.99  # the previous rule left the near family wrong on every query
    assert grid[previous][1] == 0.5 and previous != "start=0.5,max=1"


def test_a_steeper_ramp_is_learned_when_the_default_one_cannot_reach_a_near_family() -> None:
    # the near family scores 0.72: from start 0.5 the default ramp (0.5 wide) reaches weight 0.44 there, short of the
    # 0.78 that flips the pick; a 0.25-wide ramp reaches 0.88, so the folds choose it
    folds, y = _folds(np.full(50, 0.72))
    start, top, ramp, grid = _shrinkage(folds, [1.0], y, STARTS, MAXES, (0.5, 0.25))
    assert (start, top, ramp) == (0.5, 1.0, 0.25)
    assert grid["start=0.5,max=1,ramp=0.25"][2] >= -0.005 and grid["start=0.5,max=1"][2] <= -0.99
    # with the default ramp only, no strength keeps the near family
    assert all(v[2] < -0.005 for v in _shrinkage(folds, [1.0], y, STARTS, MAXES)[3].values())


def test_no_strength_keeps_every_family_then_the_worst_shortfall_decides() -> None:
    # half the near family scores 0.95 (only start 0.5 reaches it), half 0.3 (nothing does): no strength is safe;
    # start 0.5 halves the worst shortfall, so it wins despite costing in-distribution quality
    folds, y = _folds(np.r_[np.full(25, 0.95), np.full(25, 0.3)])
    start, top, _, grid = _shrinkage(folds, [1.0], y, STARTS, MAXES)
    assert all(v[2] < -0.005 for v in grid.values())
    assert (start, top) == (0.5, 1.0) and grid["start=0.5,max=1"][2] == -0.5
    # with every near query out of reach the shortfall ties, and the far family decides, at no in-distribution cost
    folds, y = _folds(np.full(50, 0.3))
    start, top, _, grid = _shrinkage(folds, [1.0], y, STARTS, MAXES)
    assert top == 1.0 and start > 0.5 and grid[f"start={start:g},max=1"][0] == grid["start=3,max=0"][0]


def test_no_loss_means_no_shrinkage() -> None:
    # the router is right on both held-out families: no strength beats not shrinking, and ties go to less shrinkage
    folds, y = _folds(np.full(50, 0.95))
    y[N_ID:] = [0.0, 1.0]
    start, top, _, grid = _shrinkage(folds, [1.0], y, STARTS, MAXES)
    assert top == 0.0 and grid["start=3,max=0"][2] > 0


def test_the_kept_folds_replay_the_shipped_strength() -> None:
    # benchmarks/shrink_rule_folds.py replays rules on the folds training keeps: on all of them, the shipped rule must
    # pick the strength the detector ships with (here one that shrinks), and naming every fold is naming none
    table = make_table(n=300)
    folds: list[dict] = []
    nov = train_novelty(LookupEncoder().encode(list(table.texts)), table, TrainConfig(kind="knn", progress=False),
                        keep_folds=folds)
    assert nov is not None and nov.shrink_max > 0 and len(folds) >= 2 and all("weights" in f for f in folds)
    table_rows = strength_table(folds, folds[0]["weights"], table.quality, SHRINK_STARTS, SHRINK_MAXES, (SHRINK_RAMP,))
    assert choose_strength(table_rows) == (nov.shrink_start, nov.shrink_max, nov.shrink_ramp)
    assert choose_strength(table_rows, folds=range(len(folds))) == choose_strength(table_rows)


def test_a_floor_is_learned_when_a_held_out_family_looks_in_distribution() -> None:
    # the near family scores 0.2, like a typical in-distribution query: a ramp from 0 reaches weight 0.4 there, short
    # of the 0.78 that flips the pick, so only a start below 0 (a floor of prior weight for every unlabelled query)
    # keeps it never worse; of the two, -0.25 shrinks fewer in-distribution queries past the flip
    folds, y = _folds(np.full(50, 0.2))
    start, top, ramp, grid = _shrinkage(folds, [1.0], y, (-0.5, -0.25, 0.0, *STARTS), MAXES)
    assert (start, top, ramp) == (-0.25, 1.0, SHRINK_RAMP)
    assert grid["start=-0.25,max=1"][2] >= -0.005 and grid["start=0,max=1"][2] < -0.005
    assert grid["start=-0.5,max=1"][0] == 0.0  # not routing unlabelled queries at all: every one goes to model 0
    assert 0.0 < grid["start=-0.25,max=1"][0] < grid["start=0,max=1"][0]  # the floor's cost is recorded


def test_the_in_distribution_cost_is_read_without_labels() -> None:
    # the text strength only ever acts on unlabelled queries, so the folds score its in-distribution cost with the
    # proxy's text-only predictions: a prior-only proxy then predicts the training mean, which is what shrinkage moves
    # toward, and no strength can change in-distribution quality (with labels, the per-task prior routes each family to
    # its specialist and every strength that shrinks would look costly)
    table = make_table(n=300)
    folds: list[dict] = []
    cfg = TrainConfig(kind="knn", use_task=True, novelty_proxy=("prior",), progress=False)
    nov = train_novelty(LookupEncoder().encode(list(table.texts)), table, cfg, keep_folds=folds)
    assert nov is not None and len(folds) >= 2
    for f in folds:
        np.testing.assert_allclose(f["p_cal"], np.broadcast_to(f["prior"], f["p_cal"].shape), atol=1e-6)
    in_distribution = {v[0] for v in nov.info["shrink_objective"].values()}
    assert len(in_distribution) == 1


def test_grouped_families_are_left_out_together() -> None:
    # two parts of one dataset (ARC-Challenge and ARC-Easy) form one group: no fold trains on one part while holding
    # out the other, but the detector still models each family
    table = make_table(n=300)
    folds: list[dict] = []
    cfg = TrainConfig(kind="knn", progress=False, novelty_groups=(("alpha", "ab"), ("beta", "ab")))
    nov = train_novelty(LookupEncoder().encode(list(table.texts)), table, cfg, keep_folds=folds)
    assert nov is not None and sorted(nov.families) == ["alpha", "beta", "gamma"]
    assert sorted(f["family"] for f in folds) == ["ab", "gamma"]
    tasks = np.asarray(table.tasks)
    ab = next(f for f in folds if f["family"] == "ab")
    assert set(tasks[ab["out"]]) == {"alpha", "beta"} and set(tasks[ab["cal"]]) == {"gamma"}


@pytest.mark.parametrize("groups", [(("alpha",),), (("alpha", 3),), ("alpha",), ((["alpha"], "ab"),)])
def test_malformed_novelty_groups_are_refused(groups: object) -> None:
    with pytest.raises(ConfigError, match="novelty_groups"):
        TrainConfig(kind="knn", novelty_groups=groups)  # type: ignore[arg-type]
