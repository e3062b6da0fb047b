"""The required roles of a plan in one pass, when no budget or latency bound can bind (``_frontier.search``'s fast path).

On the required side every role adds its option's (mode-transformed) quality to S and its cost to C; the optional
side then weighs S by w = P/n ∈ (0, 1/n] (P ≤ 1 the error the optional units leave). For a given w the best required
plan is separable: each role takes the option maximising w·quality − λ·s·cost. As w falls from 1/n towards 0, a role
moves left along the upper concave hull of its (cost, quality) options, one edge at a time, at w = λ·s / slope. So the
plans best for *some* w are the first plan plus one plan per hull edge, in order of slope — about linear in the roles
rather than a frontier grown role by role, and exact: any other plan loses to one of these for every w. With a
budget or latency bound that can bind, a plan below the hull can be the best feasible one, so the frontier search
is used instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Row layout of ``_frontier.Row``: cost, latency, value, output cost, input cost, kept, then the picks.
_COST, _VALUE, _WIDTH = 0, 2, 6
#: A point closer than this to its hull's chord counts as on it (kept: it may win a tie).
TOL = 1e-12

Row = tuple  # (cost, latency, value, output cost, input cost, kept, ((role, option), ...)), as _frontier.Row


def _hull(rows: Sequence[Row]) -> list[Row]:
    """The upper concave hull of a staircase (cost strictly rising, value rising), collinear points kept."""
    hull: list[Row] = []
    for r in rows:
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            chord = a[_VALUE] + (r[_VALUE] - a[_VALUE]) * (b[_COST] - a[_COST]) / (r[_COST] - a[_COST])
            if b[_VALUE] >= chord - TOL:
                break
            hull.pop()
        hull.append(r)
    return hull


def sweep(units: Sequence[Sequence[Row]], n_roles: int) -> tuple[np.ndarray, np.ndarray]:
    """(picks, data) of every required plan that is best for some weight on S: ``units`` are each role's options
    that no other beats at the largest weight (``_frontier._role_rows``: cost rising, key rising, the last one the
    role's choice at w = 1/n). Rows: the plan at w = 1/n first, then one per hull edge, cost falling."""
    hulls = [_hull(rows) for rows in units]
    events: list[tuple[float, int, int]] = []  # (slope where the role moves left, unit, to this hull index)
    for u, hull in enumerate(hulls):
        for k in range(len(hull) - 1, 0, -1):
            a, b = hull[k - 1], hull[k]
            events.append(((b[_VALUE] - a[_VALUE]) / (b[_COST] - a[_COST]), u, k - 1))
    events.sort(key=lambda e: e[0])
    first = np.sum([h[-1][:_WIDTH] for h in hulls], axis=0)
    steps = np.array([np.subtract(hulls[u][k][:_WIDTH], hulls[u][k + 1][:_WIDTH]) for _, u, k in events])
    data = np.vstack([first, first + np.cumsum(steps, axis=0)]) if events else first[None, :]
    data[:, _WIDTH - 1] = 1.0  # every required role runs
    picks = np.full((len(data), n_roles), -1)
    for hull in hulls:
        for role, option in hull[-1][_WIDTH]:
            picks[:, role] = option
    for row, (_, u, k) in enumerate(events, start=1):
        for role, option in hulls[u][k][_WIDTH]:
            picks[row:, role] = option
    return picks, data
