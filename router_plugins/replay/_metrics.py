"""Replay evaluation over recorded outcomes: a router's quality and cost, the standard baselines, AIQ and cost-to-match.

Everything works on an :class:`OutcomeTable` (usually one split of it) and an array with the model column each query
was routed to. Missing outcomes (NaN quality) are **masked**, never counted as 0: a query whose chosen model has no
recorded outcome is left out of both the quality and the cost mean. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from router_plugins.replay._table import OutcomeTable

__all__ = [
    "aiq",
    "baselines",
    "bootstrap_block",
    "bootstrap_blocks",
    "bootstrap_ci",
    "bootstrap_interval",
    "bootstrap_prepare",
    "choice_means",
    "cost_quality_hull",
    "cost_to_match",
    "evaluate_choices",
    "oracle_choices",
    "per_task_quality",
]

Point = tuple[float, float]
_EPS = 1e-12
_RESERVED = ("best_single", "most_expensive", "random", "oracle")


def _choices(table: OutcomeTable, choices: ArrayLike) -> NDArray[np.int64]:
    arr = np.asarray(choices)
    if arr.shape != (len(table),):
        raise ValueError(f"choices must have shape ({len(table)},) (one model column per query), got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"choices must be integer model columns, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= len(table.models)):
        raise ValueError(f"choices must lie in [0, {len(table.models) - 1}] (models: {list(table.models)})")
    return arr


def _picked(table: OutcomeTable, choices: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    rows = np.arange(len(table))
    q = table.quality[rows, choices]
    c = None if table.cost is None else table.cost[rows, choices]
    return q, c


def evaluate_choices(table: OutcomeTable, choices: ArrayLike) -> tuple[float, float | None]:
    """Mean quality and mean USD cost per query of routing query i to model ``choices[i]``.

    Rows whose chosen outcome is not recorded (NaN quality) are masked out of both means; quality is NaN when every
    row is masked. Cost is None when the table has no cost (or none of the kept rows has one).
    """
    return choice_means(table.quality, table.cost, _choices(table, choices))


def choice_means(quality: NDArray[np.float64], cost: NDArray[np.float64] | None,
                 choices: NDArray[np.int64]) -> tuple[float, float | None]:
    """:func:`evaluate_choices` on bare (queries, models) arrays and valid model columns: what a worker that holds
    no :class:`OutcomeTable` computes for one λ point."""
    rows = np.arange(len(choices))
    q = quality[rows, choices]
    kept = ~np.isnan(q)
    mean_q = float(q[kept].mean()) if kept.any() else float("nan")
    if cost is None:
        return mean_q, None
    ck = cost[rows, choices][kept]
    ck = ck[~np.isnan(ck)]
    return mean_q, (float(ck.mean()) if ck.size else None)


def per_task_quality(table: OutcomeTable, choices: ArrayLike) -> dict[str, float]:
    """Mean quality per task (NaN-masked like :func:`evaluate_choices`), in order of first appearance."""
    picks = _choices(table, choices)
    q, _ = _picked(table, picks)
    out: dict[str, float] = {}
    for task in dict.fromkeys(table.tasks.tolist()):
        qt = q[table.tasks == task]
        qt = qt[~np.isnan(qt)]
        out[str(task)] = float(qt.mean()) if qt.size else float("nan")
    return out


def oracle_choices(table: OutcomeTable) -> NDArray[np.int64]:
    """Per query the model with the best recorded quality, ties broken by lowest cost (then by column order)."""
    filled = np.where(np.isnan(table.quality), -np.inf, table.quality)
    if filled.size == 0:
        return np.zeros(len(table), dtype=np.int64)
    best = filled.max(axis=1, keepdims=True)
    tied = filled >= best - _EPS
    cost = np.zeros_like(filled) if table.cost is None else np.where(np.isnan(table.cost), np.inf, table.cost)
    return np.argmin(np.where(tied, cost, np.inf), axis=1).astype(np.int64)


def baselines(table: OutcomeTable, *, seed: int = 0) -> dict[str, dict[str, Any] | None]:
    """The reference points every router is compared with, each as ``{"quality", "cost"}`` (cost None without costs).

    Keys: every model name (always routing to it); ``best_single`` (highest mean quality, ties → cheaper, with
    ``name``); ``most_expensive`` (highest mean cost, ties → better, with ``name``; None without costs); ``random``
    (uniform random model per query, ``np.random.default_rng(seed)``, with ``seed``); ``oracle`` (best recorded outcome
    per query, ties → cheaper). Means are NaN-masked as in :func:`evaluate_choices`.
    """
    clash = [m for m in table.models if m in _RESERVED]
    if clash:
        raise ValueError(f"model names {clash} clash with the baseline keys {list(_RESERVED)}")
    n, m = len(table), len(table.models)
    out: dict[str, dict[str, Any] | None] = {}
    singles: list[tuple[str, float, float | None]] = []
    for j, name in enumerate(table.models):
        q, c = evaluate_choices(table, np.full(n, j, dtype=np.int64))
        out[name] = {"quality": q, "cost": c}
        singles.append((name, q, c))

    ranked = [s for s in singles if not np.isnan(s[1])]
    if ranked:
        name, q, c = min(ranked, key=lambda s: (-s[1], np.inf if s[2] is None else s[2]))
        out["best_single"] = {"name": name, "quality": q, "cost": c}
    else:
        out["best_single"] = None
    priced = [s for s in singles if s[2] is not None]
    if priced:
        top = max(s[2] for s in priced if s[2] is not None)
        # equal mean costs (same price, same token estimates) → the better of them is "always the premium model"
        tied = [s for s in priced if s[2] is not None and s[2] >= top * (1 - 1e-9)]
        name, q, c = max(tied, key=lambda s: -np.inf if np.isnan(s[1]) else s[1])
        out["most_expensive"] = {"name": name, "quality": q, "cost": c}
    else:
        out["most_expensive"] = None
    rng = np.random.default_rng(seed)
    q, c = evaluate_choices(table, rng.integers(0, m, size=n) if m else np.zeros(n, dtype=np.int64))
    out["random"] = {"quality": q, "cost": c, "seed": seed}
    q, c = evaluate_choices(table, oracle_choices(table))
    out["oracle"] = {"quality": q, "cost": c}
    return out


#: Resamples per bootstrap block: each block draws from its own random stream, so blocks can run anywhere, in any order.
BOOT_BLOCK = 256
#: Most indices drawn at once inside a block (32 MB of int64): over a million rows a block draws a few resamples at
#: a time.
_BOOT_DRAW = 1 << 22


def bootstrap_prepare(values: ArrayLike,
                      groups: ArrayLike | None = None) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The values a bootstrap resamples (NaN rows dropped) and their group codes 0..k−1 (all 0 without ``groups``)."""
    v = np.asarray(values, dtype=np.float64)
    g = np.zeros(len(v), dtype=np.int64) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    if g.shape != v.shape:
        raise ValueError(f"groups must have one entry per value: {g.shape} vs {v.shape}")
    keep = ~np.isnan(v)
    return v[keep], g[keep].astype(np.int64)


def bootstrap_block(values: NDArray[np.float64], codes: NDArray[np.int64], *, block: int, n_boot: int,
                    seed: int = 0) -> NDArray[np.float64]:
    """The statistic (mean of the group means) of resamples ``block·BOOT_BLOCK`` … of :func:`bootstrap_ci`, drawn from
    the block's own stream (child ``block`` of ``SeedSequence(seed)``): any process computes the same numbers."""
    start = block * BOOT_BLOCK
    k = min(BOOT_BLOCK, n_boot - start)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    stats = np.zeros(k)
    labels = np.unique(codes)
    for label in labels:  # group by group, in order: the same sum in every process
        x = values[codes == label]
        step = max(1, _BOOT_DRAW // len(x))
        for s in range(0, k, step):
            r = min(step, k - s)
            stats[s:s + r] += x[rng.integers(0, len(x), size=(r, len(x)))].mean(axis=1)
    return stats / len(labels)


def bootstrap_blocks(n_boot: int) -> int:
    """How many :func:`bootstrap_block` calls make ``n_boot`` resamples."""
    return -(-n_boot // BOOT_BLOCK)


def bootstrap_interval(stats: NDArray[np.float64], level: float = 0.95) -> tuple[float, float]:
    """The percentile interval of the resampled statistics (all blocks, concatenated in block order)."""
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [tail, 1.0 - tail])
    return float(lo), float(hi)


def bootstrap_ci(
    values: ArrayLike,
    groups: ArrayLike | None = None,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (NaN rows dropped), e.g. of per-query quality
    differences between a router and the best single model (a paired bootstrap). With ``groups`` the statistic is
    the mean of the group means and rows are resampled within each group (a per-task average's interval).
    Resamples come in blocks of :data:`BOOT_BLOCK` with one random stream each (see :func:`bootstrap_block`), so a
    distributed evaluation that runs the blocks elsewhere gets the same interval."""
    v, g = bootstrap_prepare(values, groups)
    if v.size == 0:
        return float("nan"), float("nan")
    stats = [bootstrap_block(v, g, block=b, n_boot=n_boot, seed=seed) for b in range(bootstrap_blocks(n_boot))]
    return bootstrap_interval(np.concatenate(stats), level)


# --- cost–quality curves ------------------------------------------------------------------------------------------


def _as_points(points: Sequence[Point] | ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(points, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("need at least one (cost, quality) point")
    arr = arr.reshape(-1, 2)
    if not np.isfinite(arr).all():
        raise ValueError("(cost, quality) points must be finite (drop routers without cost or quality first)")
    if (arr[:, 0] < 0).any():
        raise ValueError("costs must be >= 0")
    return arr


def cost_quality_hull(points: Sequence[Point] | ArrayLike) -> NDArray[np.float64]:
    """The non-decreasing convex hull (RouterBench) of (cost, quality) points, as (k, 2) vertices sorted by cost.

    It is the upper concave envelope of the points from the cheapest point up to the cheapest point of maximal quality;
    points beyond that (costlier and no better) do not shape it. What a router can reach by mixing its operating points.
    """
    arr = _as_points(points)
    arr = arr[np.lexsort((-arr[:, 1], arr[:, 0]))]  # by cost, best quality first among equal costs
    arr = arr[np.r_[True, np.diff(arr[:, 0]) > 0]]  # one point per cost: the best
    arr = arr[: int(np.argmax(arr[:, 1])) + 1]  # up to the cheapest point of maximal quality
    hull: list[NDArray[np.float64]] = []
    for p in arr:  # Andrew's monotone chain, upper half
        while len(hull) >= 2:
            (x0, y0), (x1, y1) = hull[-2], hull[-1]
            if (x1 - x0) * (p[1] - y0) - (y1 - y0) * (p[0] - x0) >= 0:  # hull[-1] on/below chord hull[-2]→p
                hull.pop()
            else:
                break
        hull.append(p)
    return np.array(hull, dtype=np.float64)


def aiq(points: Sequence[Point] | ArrayLike, max_cost: float | None = None) -> float:
    """Average Improvement in Quality (RouterBench): area under the non-decreasing convex hull, extended flat to
    ``max_cost``, divided by ``max_cost``. Pass the same ``max_cost`` to compare several routers.

    Follows RouterBench's released code (github.com/withmartian/routerbench, ``evaluation/AIQ.py``, ``calc_AIQ`` at
    commit 30e0925): ``np.trapz`` over the hull vertices, i.e. from the router's cheapest point (the span from 0 to it
    counts as quality 0), plus a flat segment to the largest cost, divided by that largest cost (not by max − min).
    RouterBench's largest cost is the largest hull cost over the routers compared; alone, that is the cost of the
    router's costliest point of maximal quality, which is the default here. So a router reaching quality q at zero cost
    has AIQ q, and a single point at positive cost alone has AIQ 0. When every cost is 0, AIQ is the best quality.
    """
    arr = _as_points(points)
    hull = cost_quality_hull(arr)
    top = float(hull[-1, 1])
    top_cost = float(arr[arr[:, 1] >= top - _EPS, 0].max())
    c_max = top_cost if max_cost is None else float(max_cost)
    if c_max < hull[-1, 0] - _EPS:
        raise ValueError(f"max_cost {c_max} is below the cost {hull[-1, 0]} at which this router's curve peaks")
    if c_max <= 0:
        return top
    xs = np.append(hull[:, 0], c_max)
    ys = np.append(hull[:, 1], top)
    area = float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2.0))
    return area / c_max


def cost_to_match(
    points: Sequence[Point] | ArrayLike, target_quality: float, target_cost: float
) -> float | None:
    """Fraction of ``target_cost`` the router needs to reach ``target_quality`` on its non-decreasing convex hull
    (linear interpolation between vertices); None if it never reaches it. E.g. 0.3 = best-model quality at 30% of
    its cost.
    """
    if not target_cost > 0:
        raise ValueError(f"target_cost must be > 0, got {target_cost}")
    hull = cost_quality_hull(points)
    qs, cs = hull[:, 1], hull[:, 0]
    if qs[-1] < target_quality - _EPS:
        return None
    i = int(np.argmax(qs >= target_quality - _EPS))  # first vertex reaching the target
    if i == 0:
        return float(cs[0]) / target_cost
    (c0, q0), (c1, q1) = hull[i - 1], hull[i]
    cost = c0 + (target_quality - q0) * (c1 - c0) / (q1 - q0)
    return float(min(max(cost, c0), c1)) / target_cost
