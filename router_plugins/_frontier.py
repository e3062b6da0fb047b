"""Exact search behind ``planner.optimise``: Pareto frontiers of partial plans, a multiple-choice knapsack per side.

A plan picks one option per *unit* (an ungrouped role, or the members of one vote group). Required units add
their quality to S; the other units multiply P by (1 − lift·quality). With n required units and s samples per
role the objective is 1 − P·(1 − S/n) − λ·s·C, under s·C ≤ budget and s·latency ≤ bound. Since P ≤ 1, a
partial plan of required units is never needed when another costs no more, is no slower, and has S/n − λ·s·C
at least as high; a partial plan of optional units likewise with −P·E − λ·s·C, E the largest error the
required side can leave. Dropping those is exact, and what survives is small, so the search grows one frontier
per side unit by unit (linear in roles) and joins the two pairwise at the end; only a vote group's members are
enumerated jointly (vectorised, majority values memoised). ``_sweep`` builds the required roles' frontier in one
pass when no bound can bind.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from router_plugins._sweep import sweep

if TYPE_CHECKING:
    from router_plugins.modes import Mode
    from router_plugins.planner import Candidate
    from router_plugins.query import Role

#: Keys closer than this count as equal: the earlier (cheaper, then better) partial plan stands for both.
TOL = 1e-12
#: Most partial plans a frontier keeps (without / with a latency bound, where pruning is quadratic); never reached
#: in the benchmarks' teams, only when a binding budget meets many near-equal options (then the search approximates).
FRONT_LIMIT = {False: 1024, True: 128}
#: Columns of ``Options.data``; ``value`` is S on the required side and P on the optional side.
COST, LATENCY, VALUE, OUT, INP, KEPT = range(6)
#: One option as plain floats: the columns above, then ((role index, option index), ...) it picks.
Row = tuple[float, float, float, float, float, float, tuple[tuple[int, int], ...]]


@dataclass(frozen=True)
class Options:
    """Partial plans (a unit's options, or a frontier): ``data`` columns COST…KEPT, ``picks[k, i]`` the option
    index chosen for role i (−1: not decided here)."""

    picks: np.ndarray
    data: np.ndarray

    def take(self, idx: np.ndarray) -> Options:
        """The partial plans at ``idx`` (indices or a boolean mask)."""
        return Options(self.picks[idx], self.data[idx])

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Key:
    """What a partial plan is worth for pruning: ``weight``·value − λ·s·cost, ties to the better ``sign``·value.

    Required side: weight 1/n (P ≤ 1 at most scales it down). Optional side: weight −E, E the largest error the
    required side can leave.
    """

    weight: float
    lam_s: float
    sign: float

    def __call__(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(key, tie preference) for each row of ``data``."""
        return self.weight * d[:, VALUE] - self.lam_s * d[:, COST], self.sign * d[:, VALUE]


def search(
    roles: Sequence[Role], options: Sequence[Sequence[Candidate | None]], mode: Mode, lam: float,
    budget: float | None, max_latency: float | None,
) -> np.ndarray:
    """Option index per role (−1: no option) of every plan within TOL of the best objective; none if infeasible."""
    n_roles, s, eps = len(roles), mode.samples, 1e-12
    if any(not opts for opts in options):
        return np.empty((0, n_roles), dtype=np.int64)  # a role without candidates: no plan
    lam_s, bounded = lam * s, max_latency is not None
    caps = (
        math.inf if budget is None else (budget + eps) / s,
        math.inf if max_latency is None else (max_latency + eps) / s,
    )
    singles: dict[bool, list[int]] = {True: [], False: []}  # required? → ungrouped roles
    votes: dict[bool, list[list[int]]] = {True: [], False: []}
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(roles):
        if r.group is not None:
            groups.setdefault(r.group, []).append(i)
        elif any(c is not None for c in options[i]):
            singles[not r.optional].append(i)
    for members in groups.values():
        if any(c is not None for i in members for c in options[i]):
            # a vote with a kept required member is a required unit (plan_quality's rule); required roles always run
            votes[any(not roles[i].optional and None not in options[i] for i in members)].append(members)
    n = len(singles[True]) + len(votes[True])
    if not votes[True] and not votes[False] and len(singles[True]) + len(singles[False]) == 1:
        return _one_role(singles[True] + singles[False], n_roles, options, mode, roles, lam_s, caps)
    # no budget or latency bound can bind (the dearest plan fits): the required roles are separable (``_sweep``)
    most = sum(max((c.cost for c in opts if c is not None), default=0.0) for opts in options)
    separable = not bounded and most <= caps[0]
    # what the units not yet added cost at least: a partial plan that cannot afford them is dropped early
    rest = [0.0, 0.0]
    for opts in options:
        if None not in opts:
            rest[0] += min(c.cost for c in opts if c is not None)
            rest[1] += min(c.latency for c in opts if c is not None)

    def walk(required: bool, key: Key) -> Options:
        protect_empty = not required and n == 0
        add = required
        front = empty(n_roles, 0.0 if add else 1.0)
        fixed: list[float] = [0.0, 0.0, 0.0 if add else 1.0, 0.0, 0.0, 0.0]  # units with one option left, summed
        fixed_picks: list[tuple[int, int]] = []
        units: list[Options | list[Row]] = [
            _role_rows(i, options[i], mode.transform, None if required else roles[i].lift, key, bounded, protect_empty)
            for i in singles[required]
        ]
        if required and separable and len(units) > 1:
            units = [Options(*sweep(units, n_roles))]  # type: ignore[arg-type]
        for members in votes[required]:
            unit = _group_unit(members, n_roles, [options[i] for i in members], mode.transform,
                               [roles[i].lift for i in members], required)
            units.append(prune(unit, *key(unit.data), latency=bounded, protect_empty=protect_empty))
        for unit in units:
            if isinstance(unit, list) and len(unit) == 1:
                row = unit[0]
                for col in (COST, LATENCY, OUT, INP):
                    fixed[col] += row[col]
                fixed[VALUE] = fixed[VALUE] + row[VALUE] if add else fixed[VALUE] * row[VALUE]
                fixed[KEPT] = max(fixed[KEPT], row[KEPT])
                fixed_picks.extend(row[6])
                rest[0] -= row[COST]
                rest[1] -= row[LATENCY]
                continue
            if isinstance(unit, list):
                unit = _rows_to_options(unit, n_roles)
            floor = unit.data[:, [COST, LATENCY]].min(axis=0)
            rest[0] -= floor[0]
            rest[1] -= floor[1]
            limit = (caps[0] - rest[0] - fixed[COST], caps[1] - rest[1] - fixed[LATENCY])
            front = grow(front, unit, add=add, key=key, caps=limit, latency=bounded, protect_empty=protect_empty)
            if not len(front):
                return front
        data = front.data + np.array(fixed)
        if not add:
            data[:, VALUE] = front.data[:, VALUE] * fixed[VALUE]
        data[:, KEPT] = np.maximum(front.data[:, KEPT], fixed[KEPT])
        picks = front.picks.copy()
        for i, k in fixed_picks:
            picks[:, i] = k
        return Options(picks, data)

    front = walk(True, Key(1.0 / max(n, 1), lam_s, 1.0))
    if not len(front):
        return np.empty((0, n_roles), dtype=np.int64)
    worst_error = 1.0 - float(front.data[:, VALUE].min()) / n if n else 1.0
    floor = front.data[:, [COST, LATENCY]].min(axis=0)  # the optional side must leave room for the required one
    rest[0] += floor[0]
    rest[1] += floor[1]
    tail = walk(False, Key(-worst_error, lam_s, -1.0))
    return join(front, tail, n, lam_s, *caps)


def _one_role(
    index: list[int], n_roles: int, options: Sequence[Sequence[Candidate | None]], mode: Mode, roles: Sequence[Role],
    lam_s: float, caps: tuple[float, float],
) -> np.ndarray:
    """``search`` for a plan with one role that can run (classic routing), in plain Python: no frontier needed."""
    i = index[0]
    required = not roles[i].optional
    scored = []
    for k, c in enumerate(options[i]):
        if c is not None and c.cost <= caps[0] and c.latency <= caps[1]:
            q = mode.transform(c.quality)
            scored.append(((q if required else roles[i].lift * q) - lam_s * c.cost, k))
    best = max((v for v, _ in scored), default=-math.inf)
    picks = np.full((len(scored), n_roles), -1)
    picks[:, i] = [k for _, k in scored]
    return picks[[v >= best - 10 * TOL for v, _ in scored]] if scored else picks


def empty(n_roles: int, value: float) -> Options:
    """The frontier before any unit: one plan that runs nothing."""
    data = np.zeros((1, 6))
    data[0, VALUE] = value
    return Options(np.full((1, n_roles), -1), data)


def _role_rows(
    index: int, opts: Sequence[Candidate | None], transform: Callable[[float], float], lift: float | None,
    key: Key, latency: bool, protect_empty: bool,
) -> list[Row]:
    """One ungrouped role's options that no other beats (as ``prune``, in plain Python: a role has a few): value =
    mode-transformed quality (required, ``lift`` None) or 1 − lift·it."""
    rows: list[Row] = []
    for k, c in enumerate(opts):
        if c is None:
            rows.append((0.0, 0.0, 1.0, 0.0, 0.0, 0.0, ((index, k),)))
        else:
            q = transform(c.quality)
            value = q if lift is None else 1.0 - lift * q
            rows.append((c.cost, c.latency, value, c.output_cost, c.input_cost, 1.0, ((index, k),)))
    if len(rows) == 1:
        return rows
    scored = sorted(
        ((key.weight * r[VALUE] - key.lam_s * r[COST], key.sign * r[VALUE], r) for r in rows),
        key=lambda t: (t[2][COST], -t[0], -t[1], t[2][OUT], t[2][INP], t[2][LATENCY]),
    )
    kept: list[Row] = []
    seen: list[tuple[float, float]] = []  # (latency, key) of the rows before, that may beat later ones
    best = -math.inf
    for k_, _, r in scored:
        if latency:
            beaten = any(lat <= r[LATENCY] + TOL and other >= k_ - TOL for lat, other in seen)
        else:
            beaten = bool(seen) and k_ <= best + TOL
        if not beaten:
            kept.append(r)
        if r[KEPT] or not protect_empty:
            seen.append((r[LATENCY], k_))
            best = max(best, k_)
    return kept


def _rows_to_options(rows: list[Row], n_roles: int) -> Options:
    """Plain rows as an ``Options`` array pair, for the numpy frontier."""
    picks = np.full((len(rows), n_roles), -1)
    for j, r in enumerate(rows):
        for i, k in r[6]:
            picks[j, i] = k
    return Options(picks, np.array([r[:6] for r in rows]))


def _group_unit(
    members: Sequence[int], n_roles: int, opts: Sequence[Sequence[Candidate | None]],
    transform: Callable[[float], float], lifts: Sequence[float], required: bool,
) -> Options:
    """A vote group's joint options (interchangeable members once per multiset), with the majority's quality.

    Value: the vote's quality (``required``) or 1 − lift of the first kept member × it (1 when none runs).
    """
    classes: dict[tuple[object, ...], list[int]] = {}
    for j, o in enumerate(opts):
        classes.setdefault((lifts[j], tuple(o)), []).append(j)
    structure = tuple((len(opts[c[0]]), tuple(c)) for c in classes.values())
    combos = _combos(structure)
    vote, kept = _group_votes(structure, tuple(
        tuple(None if c is None else (c.model, transform(c.quality)) for c in o) for o in opts))
    data = np.zeros((len(combos), 6))
    for j, o in enumerate(opts):
        table = np.array([(0.0,) * 4 if c is None else (c.cost, c.latency, c.output_cost, c.input_cost) for c in o])
        data[:, [COST, LATENCY, OUT, INP]] += table[combos[:, j]]
    any_kept = kept.any(axis=1)
    first_lift = np.asarray(lifts)[np.argmax(kept, axis=1)]
    data[:, VALUE] = vote if required else np.where(any_kept, 1.0 - first_lift * vote, 1.0)
    data[:, KEPT] = any_kept
    picks = np.full((len(combos), n_roles), -1)
    picks[:, list(members)] = combos
    unit = Options(picks, data)
    return unit.take(any_kept) if required else unit


@lru_cache(maxsize=256)
def _combos(structure: tuple[tuple[int, tuple[int, ...]], ...]) -> np.ndarray:
    """Option index per member (columns in member order) of each joint option, for (option count, members) classes
    of interchangeable members."""
    # each multiset of a class once (its members take ascending indices)
    per_class = [list(itertools.combinations_with_replacement(range(k), len(m))) for k, m in structure]
    rows = [sum(combo, ()) for combo in itertools.product(*per_class)]
    idx = np.array(rows, dtype=np.int64).reshape(len(rows), sum(len(m) for _, m in structure))
    combos = np.empty_like(idx)
    combos[:, [j for _, members in structure for j in members]] = idx  # back to member order
    combos.setflags(write=False)
    return combos


@lru_cache(maxsize=1024)
def _group_votes(structure: tuple[tuple[int, tuple[int, ...]], ...],
                 voters: tuple[tuple[tuple[str, float] | None, ...], ...]) -> tuple[np.ndarray, np.ndarray]:
    """(majority quality, which members run) of each joint option; ``voters``: per member, (model, quality after
    the mode) of each option or None. Memoised: with card or task priors the same options recur plan after plan."""
    combos = _combos(structure)
    names: dict[str, int] = {}
    table = [np.array([(-1.0, 0.0) if v is None else (names.setdefault(v[0], len(names)), v[1]) for v in member])
             for member in voters]
    stacked = np.stack([t[combos[:, j]] for j, t in enumerate(table)], axis=1)
    model = stacked[:, :, 0].astype(np.int64)
    vote, kept = vote_matrix(model, stacked[:, :, 1]), model >= 0
    vote.setflags(write=False)
    kept.setflags(write=False)
    return vote, kept


def vote_matrix(model: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise ``planner.vote_quality``: P(the majority is right); model −1 = no voter; one model, one answer.

    Voters on one model cast its answer with their combined weight (and its best quality, as vote_quality does);
    a tie counts half.
    """
    rows, g = model.shape
    kept = model >= 0
    # loops over the (few) members: numpy reduces a short last axis slowly
    weight = np.zeros((rows, g), dtype=np.int64)
    repeat = np.zeros((rows, g), dtype=bool)  # an earlier member already cast this model's answer
    p = np.zeros((rows, g))
    for k in range(g):
        same = (model == model[:, k, None]) & kept
        weight += same
        repeat[:, k + 1:] |= same[:, k + 1:]
        p = np.maximum(p, np.where(same, q[:, k, None], 0.0))
    lead = kept & ~repeat
    # a voter that is absent or repeats an earlier voter's model has weight 0 and p 0: it leaves the distribution
    w = np.where(lead, weight, 0)
    p = np.where(lead, p, 0.0)
    t = np.arange(g + 1)[None, :]
    dist = np.zeros((rows, g + 1))
    dist[:, 0] = 1.0
    for j in range(g):
        source = t - w[:, j, None]  # dist[w] moves to dist[w + weight] when this voter is right
        shifted = np.take_along_axis(dist, np.maximum(source, 0), axis=1) * (source >= 0)
        dist = dist * (1.0 - p[:, j, None]) + shifted * p[:, j, None]
    total = kept.sum(axis=1)[:, None]
    return (dist * np.where(2 * t > total, 1.0, np.where(2 * t == total, 0.5, 0.0))).sum(axis=1)


def prune(front: Options, key: np.ndarray, prefer: np.ndarray, *, latency: bool, protect_empty: bool) -> Options:
    """Drop partial plans another one beats: no dearer, (no slower when latency is bounded), ``key`` not lower.

    ``prefer`` (higher better) orders equal plans so the kept one wins RouteMoA's ties (quality, then output cost,
    input cost, latency). With ``protect_empty`` a plan that runs nothing dominates no other (a plan runs a role).
    """
    d = front.data
    if len(d) <= 1:
        return front
    order = np.lexsort((d[:, LATENCY], d[:, INP], d[:, OUT], -prefer, -key, d[:, COST]))
    k = key[order]
    rival = np.where(d[order, KEPT] > 0, k, -np.inf) if protect_empty else k
    if not latency:
        best_before = np.maximum.accumulate(rival)
        keep = np.empty(len(k), dtype=bool)
        keep[0] = True
        keep[1:] = k[1:] > best_before[:-1] + TOL
        return front.take(order[keep])
    lat = d[order, LATENCY]
    n = len(order)
    before = np.tri(n, n, -1, dtype=bool)  # rows: plan i, columns: plans sorted ahead of it (no dearer)
    beaten = (before & (lat[None, :] <= lat[:, None] + TOL) & (rival[None, :] >= k[:, None] - TOL)).any(axis=1)
    return front.take(order[~beaten])


def grow(
    front: Options, unit: Options, *, add: bool, key: Key, caps: tuple[float, float], latency: bool,
    protect_empty: bool,
) -> Options:
    """The frontier after adding one unit: every (partial plan, option) pair within the caps, then pruned."""
    if len(unit) == 1:  # nothing to choose: shift every partial plan (dominance is kept; P·f keeps it as f ≤ 1)
        parent, child = np.arange(len(front)), np.zeros(len(front), dtype=np.int64)
    else:
        parent = np.repeat(np.arange(len(front)), len(unit))
        child = np.tile(np.arange(len(unit)), len(front))
    a, b = front.data[parent], unit.data[child]
    data = a + b
    if not add:
        data[:, VALUE] = a[:, VALUE] * b[:, VALUE]
    data[:, KEPT] = np.maximum(a[:, KEPT], b[:, KEPT])
    ok = (data[:, COST] <= caps[0]) & (data[:, LATENCY] <= caps[1])
    # the units cover disjoint roles (−1 elsewhere), so the larger index is the one decided
    grown = Options(np.maximum(front.picks[parent[ok]], unit.picks[child[ok]]), data[ok])
    if len(unit) == 1:
        return grown
    k, prefer = key(grown.data)
    front = prune(grown, k, prefer, latency=latency, protect_empty=protect_empty)
    limit = FRONT_LIMIT[latency]
    if len(front) > limit:
        # a binding budget over many near-equal options (a hard knapsack): keep plans spread evenly along cost, the
        # cheapest and the dearest included, so the search stays linear in roles (approximate from here on)
        front = front.take(np.unique(np.linspace(0, len(front) - 1, limit).round().astype(np.int64)))
    return front


def join(req: Options, opt: Options, n: int, lam_s: float, cost_cap: float, latency_cap: float) -> np.ndarray:
    """Picks of the best (required, optional) pairs within the caps: every pair within TOL of the best objective."""
    r, o = req.data, opt.data
    error = 1.0 - r[:, VALUE] / n if n else np.ones(len(r))
    cost = r[:, COST, None] + o[None, :, COST]
    objective = 1.0 - o[None, :, VALUE] * error[:, None] - lam_s * cost
    ok = (cost <= cost_cap) & (r[:, LATENCY, None] + o[None, :, LATENCY] <= latency_cap)
    ok &= (r[:, KEPT, None] + o[None, :, KEPT]) > 0
    if not ok.any():
        return np.empty((0, req.picks.shape[1]), dtype=np.int64)
    objective = np.where(ok, objective, -np.inf)
    i, j = np.nonzero(objective >= objective.max() - 10 * TOL)
    return np.maximum(req.picks[i], opt.picks[j])
