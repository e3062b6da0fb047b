"""Exact search behind ``planner.optimise``: Pareto frontiers of partial plans, a multiple-choice knapsack per side.

A plan picks one option per *unit* (an ungrouped role, or the members of one vote group). Required units add their
quality to S; the other units multiply P by (1 − lift·quality). With n required units and s samples per role the
objective is 1 − P·(1 − S/n) − λ·s·C, under s·C ≤ budget and s·latency ≤ bound. Since P ≤ 1, a partial plan of
required units is never needed when another costs no more, is no slower, and has S/n − λ·s·C at least as high; a
partial plan of optional units likewise with −P·E − λ·s·C, E the largest error the required side can leave. Dropping
those is exact, and what survives is small, so the search grows one frontier per side unit by unit (linear in
roles) and joins the two pairwise at the end; only a vote group's members are enumerated jointly (vectorised).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from router_plugins.planner import Candidate

#: Keys closer than this count as equal: the earlier (cheaper, then better) partial plan stands for both.
TOL = 1e-12


@dataclass(frozen=True)
class Options:
    """Partial plans (a unit's options, or a frontier) as parallel arrays.

    ``picks[k, i]`` is the option index chosen for role i (-1: not decided here); ``value`` is S on the required
    side and P on the optional side; ``kept`` says whether the partial plan runs any role.
    """

    picks: np.ndarray
    cost: np.ndarray
    latency: np.ndarray
    value: np.ndarray
    out: np.ndarray
    inp: np.ndarray
    kept: np.ndarray

    def take(self, idx: np.ndarray) -> Options:
        """The partial plans at ``idx`` (indices or a boolean mask)."""
        return Options(*(a[idx] for a in (self.picks, self.cost, self.latency, self.value, self.out, self.inp, self.kept)))

    def __len__(self) -> int:
        return len(self.cost)


def empty(n_roles: int, value: float) -> Options:
    """The frontier before any unit: one plan that runs nothing."""
    zero = np.zeros(1)
    return Options(np.full((1, n_roles), -1), zero, zero, np.full(1, value), zero, zero, np.zeros(1, bool))


def role_unit(
    index: int, n_roles: int, opts: Sequence[Candidate | None], transform: Callable[[float], float],
    lift: float | None,
) -> Options:
    """One ungrouped role's options: value = mode-transformed quality (required, ``lift`` None) or 1 − lift·it."""
    cands = [c for c in opts if c is not None]
    q = np.array([transform(c.quality) for c in cands] + [0.0] * (len(opts) - len(cands)))
    picks = np.full((len(opts), n_roles), -1)
    picks[:, index] = [k for k, c in enumerate(opts) if c is not None] + [k for k, c in enumerate(opts) if c is None]
    return Options(
        picks, *(_attr(cands, name, len(opts)) for name in ("cost", "latency")),
        q if lift is None else 1.0 - lift * q, *(_attr(cands, name, len(opts)) for name in ("output_cost", "input_cost")),
        np.arange(len(opts)) < len(cands),
    )


def _attr(cands: Sequence[Candidate], name: str, size: int) -> np.ndarray:
    # a pruned role (None, always listed last) costs nothing and takes no time
    return np.array([getattr(c, name) for c in cands] + [0.0] * (size - len(cands)))


@lru_cache(maxsize=256)
def _multisets(sizes: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Index rows: for each (option count, members) class, each multiset once (members take ascending indices)."""
    per_class = [list(itertools.combinations_with_replacement(range(k), m)) for k, m in sizes]
    rows = [sum(combo, ()) for combo in itertools.product(*per_class)]
    return np.array(rows, dtype=np.int64).reshape(len(rows), sum(m for _, m in sizes))


def group_unit(
    members: Sequence[int], n_roles: int, opts: Sequence[Sequence[Candidate | None]],
    transform: Callable[[float], float], lifts: Sequence[float], required: bool,
) -> Options | None:
    """A vote group's joint options (interchangeable members once per multiset), with the majority's quality.

    Value: the vote's quality (``required``) or 1 − lift of the first kept member × it; None if no option runs.
    """
    classes: dict[tuple[object, ...], list[int]] = {}
    for j, o in enumerate(opts):
        classes.setdefault((lifts[j], tuple(o)), []).append(j)
    order = [j for members_of in classes.values() for j in members_of]
    idx = _multisets(tuple((len(opts[c[0]]), len(c)) for c in classes.values()))
    combos = np.empty_like(idx)
    combos[:, order] = idx  # back to member order
    names: dict[str, int] = {}
    g = len(members)
    model = np.full((len(combos), g), -1)
    q, lift = np.zeros((len(combos), g)), np.zeros((len(combos), g))
    fields = {name: np.zeros(len(combos)) for name in ("cost", "latency", "output_cost", "input_cost")}
    for j, o in enumerate(opts):
        pick = combos[:, j]
        model[:, j] = np.array([-1 if c is None else names.setdefault(c.model, len(names)) for c in o])[pick]
        q[:, j] = np.array([0.0 if c is None else transform(c.quality) for c in o])[pick]
        lift[:, j] = lifts[j]
        for name, total in fields.items():
            total += np.array([0.0 if c is None else getattr(c, name) for c in o])[pick]
    kept = model >= 0
    any_kept = kept.any(axis=1)
    if not any_kept.any():
        return None
    vote = vote_matrix(model, q)
    first = np.argmax(kept, axis=1)
    value = vote if required else np.where(any_kept, 1.0 - lift[np.arange(len(combos)), first] * vote, 1.0)
    picks = np.full((len(combos), n_roles), -1)
    picks[:, list(members)] = combos
    opts_ = Options(picks, fields["cost"], fields["latency"], value, fields["output_cost"], fields["input_cost"], any_kept)
    return opts_.take(any_kept) if required else opts_


def vote_matrix(model: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise ``planner.vote_quality``: P(the majority is right); model −1 = no voter; one model, one answer.

    Voters on one model cast its answer with their combined weight (and its best quality, as vote_quality does);
    a tie counts half.
    """
    rows, g = model.shape
    kept = model >= 0
    same = (model[:, :, None] == model[:, None, :]) & kept[:, :, None] & kept[:, None, :]
    weight = same.sum(axis=2)
    earlier = np.tril(np.ones((g, g), bool), -1)
    lead = kept & ~(same & earlier[None]).any(axis=2)
    best_q = np.where(same, q[:, None, :], -np.inf).max(axis=2)
    total = kept.sum(axis=1)
    dist = np.zeros((rows, g + 1))
    dist[:, 0] = 1.0
    for j in range(g):
        # a voter that is absent or repeats an earlier voter's model has p = 0: the distribution stays as it is
        w = np.where(lead[:, j], weight[:, j], 0)
        p = np.where(lead[:, j], best_q[:, j], 0.0)[:, None]
        shifted = np.zeros_like(dist)
        for step in np.unique(w[w > 0]):
            rows_w = w == step
            shifted[rows_w, step:] = dist[rows_w, :-step]
        dist = dist * (1.0 - p) + shifted * p
    t = np.arange(g + 1)[None, :]
    win = np.where(2 * t > total[:, None], 1.0, np.where(2 * t == total[:, None], 0.5, 0.0))
    return (dist * win).sum(axis=1)


def prune(front: Options, key: np.ndarray, prefer: np.ndarray, *, latency: bool, protect_empty: bool) -> Options:
    """Drop partial plans another one beats: no dearer, (no slower when latency is bounded), ``key`` not lower.

    ``prefer`` (higher better) orders equal plans so the kept one wins RouteMoA's ties (quality, then output cost,
    input cost, latency). With ``protect_empty`` a plan that runs nothing dominates no other (a plan runs a role).
    """
    order = np.lexsort((front.latency, front.inp, front.out, -prefer, -key, front.cost))
    k = key[order]
    rival = np.where(front.kept[order] | (not protect_empty), k, -np.inf)
    if not latency:
        best_before = np.concatenate(([-np.inf], np.maximum.accumulate(rival)[:-1]))
        return front.take(order[k > best_before + TOL])
    lat = front.latency[order]
    n = len(order)
    before = np.tri(n, n, -1, dtype=bool)  # rows: plan i, columns: plans sorted ahead of it (no dearer)
    beaten = (before & (lat[None, :] <= lat[:, None] + TOL) & (rival[None, :] >= k[:, None] - TOL)).any(axis=1)
    return front.take(order[~beaten])


def grow(
    front: Options, unit: Options, *, add: bool, key: Callable[[Options], tuple[np.ndarray, np.ndarray]],
    cost_cap: float, latency_cap: float, latency: bool, protect_empty: bool,
) -> Options:
    """The frontier after adding one unit: every (partial plan, option) pair within the caps, then pruned."""
    parent = np.repeat(np.arange(len(front)), len(unit))
    child = np.tile(np.arange(len(unit)), len(front))
    cost = front.cost[parent] + unit.cost[child]
    lat = front.latency[parent] + unit.latency[child]
    ok = (cost <= cost_cap) & (lat <= latency_cap)
    parent, child = parent[ok], child[ok]
    grown = Options(
        np.maximum(front.picks[parent], unit.picks[child]),  # the units cover disjoint roles (−1 elsewhere)
        cost[ok], lat[ok],
        front.value[parent] + unit.value[child] if add else front.value[parent] * unit.value[child],
        front.out[parent] + unit.out[child], front.inp[parent] + unit.inp[child],
        front.kept[parent] | unit.kept[child],
    )
    k, prefer = key(grown)
    return prune(grown, k, prefer, latency=latency, protect_empty=protect_empty)


def join(req: Options, opt: Options, n: int, lam_s: float, cost_cap: float, latency_cap: float) -> np.ndarray:
    """Picks of the best (required, optional) pairs within the caps: every pair within TOL of the best objective."""
    error = 1.0 - req.value / n if n else np.ones(len(req))
    objective = 1.0 - opt.value[None, :] * error[:, None] - lam_s * (req.cost[:, None] + opt.cost[None, :])
    ok = (req.cost[:, None] + opt.cost[None, :] <= cost_cap) & (req.latency[:, None] + opt.latency[None, :] <= latency_cap)
    ok &= req.kept[:, None] | opt.kept[None, :]
    if not ok.any():
        return np.empty((0, req.picks.shape[1]), dtype=np.int64)
    objective = np.where(ok, objective, -np.inf)
    i, j = np.nonzero(objective >= objective.max() - 10 * TOL)
    return np.maximum(req.picks[i], opt.picks[j])
