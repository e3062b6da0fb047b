"""The planner's search before issue 15 (exhaustive up to 1,024 joint choices, else coordinate ascent), kept so
``benchmarks/overhead.py --legacy`` times it beside the current optimiser in one run. Not part of the package."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from router_plugins.modes import Mode
from router_plugins.planner import (  # the quality model is shared; only the search is the old one
    Candidate,
    Draft,
    _evaluate,
    _feasible,
    lift_product,
)
from router_plugins.query import Role

#: Above this many joint assignments the optimiser switches from exhaustive search to coordinate ascent.
EXHAUSTIVE_LIMIT = 1024


def pareto_front(cands: Sequence[Candidate], *, with_latency: bool = True, slack: int = 0) -> list[Candidate]:
    """Candidates dominated by at most ``slack`` others in (quality ↑, cost ↓, latency ↓ when it is constrained).

    ``slack`` > 0 serves group members: a dominated model is still needed when its dominators may all be taken by
    other members of the group. Without slack, exact duplicates keep their first copy.
    """

    def point(c: Candidate) -> tuple[float, float, float]:
        return (c.quality, c.cost, c.latency if with_latency else 0.0)

    front: list[Candidate] = []
    for c in cands:
        q, cost, lat = point(c)
        dominators = sum(
            1 for oq, oc, ol in map(point, cands) if oq >= q and oc <= cost and ol <= lat and (oq, oc, ol) != (q, cost, lat)
        )
        # equal points are interchangeable for one role, but distinct voters for a group
        if dominators <= slack and (slack or all(point(o) != (q, cost, lat) for o in front)):
            front.append(c)
    return front


Choice = Sequence["Candidate | None"]


def optimise(
    roles: Sequence[Role],
    candidates: Mapping[str, Sequence[Candidate]],
    mode: Mode,
    *,
    lam: float,
    budget: float | None = None,
    max_latency: float | None = None,
    fixed: Mapping[str, str | None] | None = None,
    keep: frozenset[str] = frozenset(),
) -> Draft | None:
    """Best feasible draft for ``mode``, or None when even the cheapest choice breaks a constraint.

    ``fixed`` pins roles (model name, or None = pruned) chosen by an earlier stage or a plugin; optional roles
    in ``keep`` may not be pruned. Small searches are exact; above EXHAUSTIVE_LIMIT, coordinate ascent.
    """
    fixed = fixed or {}
    group_size = Counter(r.group for r in roles if r.group is not None)
    options: list[list[Candidate | None]] = []
    for r in roles:
        if r.name in fixed:
            pinned = fixed[r.name]
            match = [c for c in candidates[r.name] if c.model == pinned]
            options.append([None] if pinned is None else match[:1] or [None])
            continue
        slack = group_size[r.group] - 1 if r.group is not None else 0
        opts: list[Candidate | None] = list(
            pareto_front(candidates[r.name], with_latency=max_latency is not None, slack=slack)
        )
        if r.optional and r.name not in keep:
            opts = opts + [None] if mode.keep_optional else [None]
        options.append(opts)

    free = _separable(roles, options) if budget is None and max_latency is None else []
    classes = _interchangeable(roles, options, free)
    size = math.prod(math.comb(len(options[c[0]]) + len(c) - 1, len(c)) for c in classes)
    if size <= EXHAUSTIVE_LIMIT:
        return _enumerate(roles, options, free, classes, mode, lam, budget, max_latency)
    return _coordinate_ascent(roles, options, mode, lam, budget, max_latency)


def _separable(roles: Sequence[Role], options: Sequence[Sequence[Candidate | None]]) -> list[int]:
    """Required roles whose best model does not depend on the others' once optional choices are fixed.

    Quality is 1 − P + P·mean(T(q_required)) with P the optional roles' product, so each such role maximises
    (P/n)·T(q) − λ·samples·cost on its own (n = units with a required role). Group members vote: never free.
    """
    return [
        i
        for i, (r, o) in enumerate(zip(roles, options))
        if not r.optional and r.group is None and None not in o and len(o) > 1
    ]


def _interchangeable(
    roles: Sequence[Role], options: Sequence[Sequence[Candidate | None]], free: Sequence[int]
) -> list[list[int]]:
    """The non-free roles in classes of interchangeable ones (same flags, group, lift and options)."""

    def point(c: Candidate | None) -> tuple[Any, ...] | None:
        return None if c is None else (c.model, c.quality, c.cost, c.latency, c.input_cost, c.output_cost)

    classes: dict[tuple[Any, ...], list[int]] = {}
    for i, (r, o) in enumerate(zip(roles, options)):
        if i not in free:
            key = (r.optional, r.group, r.lift, tuple(map(point, o))) if r.group or r.optional else (i,)
            classes.setdefault(key, []).append(i)
    return list(classes.values())


def _enumerate(
    roles: Sequence[Role],
    options: Sequence[Sequence[Candidate | None]],
    free: Sequence[int],
    classes: Sequence[Sequence[int]],
    mode: Mode,
    lam: float,
    budget: float | None,
    max_latency: float | None,
) -> Draft | None:
    """Exact search: every combination of the non-free roles, each free role at its own best (unconstrained only).

    Interchangeable roles (``classes``) take each multiset of options once, in role order.
    """
    n_required = sum(1 for r in roles if not r.optional and r.group is None) + len(
        {r.group for r in roles if not r.optional and r.group is not None}
    )
    best: Draft | None = None
    per_class = [list(itertools.combinations_with_replacement(range(len(options[c[0]])), len(c))) for c in classes]
    for combo in itertools.product(*per_class):
        choice: list[Candidate | None] = [None] * len(roles)
        for members, picks in zip(classes, combo):
            for i, k in zip(members, picks):
                choice[i] = options[i][k]
        chosen = {r.name: c for r, c in zip(roles, choice) if c is not None}
        if free:
            weight = lift_product(roles, chosen, mode) / n_required
            for i in free:
                chosen[roles[i].name] = max(
                    (c for c in options[i] if c is not None),
                    key=lambda c: (
                        round(weight * mode.transform(c.quality) - lam * mode.samples * c.cost, 12),
                        c.quality, -c.output_cost, -c.input_cost, -c.latency,
                    ),
                )
        if not chosen:
            continue  # a plan runs at least one role
        d = _evaluate(roles, chosen, mode, lam)
        if _feasible(d, budget, max_latency) and (best is None or d.rank > best.rank):
            best = d
    return best


def _coordinate_ascent(
    roles: Sequence[Role],
    options: Sequence[Sequence[Candidate | None]],
    mode: Mode,
    lam: float,
    budget: float | None,
    max_latency: float | None,
) -> Draft | None:
    """Improve one role at a time from the cheapest feasible plan and from each role's own best; keep the better."""

    def draft_of(choice: Choice) -> Draft | None:
        chosen = {r.name: c for r, c in zip(roles, choice) if c is not None}
        if not chosen:
            return None
        d = _evaluate(roles, chosen, mode, lam)
        return d if _feasible(d, budget, max_latency) else None

    def own_best(o: Sequence[Candidate | None]) -> Candidate | None:
        return max(o, key=lambda c: -math.inf if c is None else mode.transform(c.quality) - lam * mode.samples * c.cost)

    cheapest = [min(o, key=lambda c: (0.0, 0.0) if c is None else (c.cost, c.latency)) for o in options]
    if all(c is None for c in cheapest):
        i = next(i for i, o in enumerate(options) if any(c is not None for c in o))
        cheapest[i] = min((c for c in options[i] if c is not None), key=lambda c: (c.cost, c.latency))
    best: Draft | None = None
    for start in (cheapest, [own_best(o) for o in options]):
        current = list(start)
        here = draft_of(current)
        if here is None:
            continue
        improved = True
        while improved:
            improved = False
            for i, opts in enumerate(options):
                for c in opts:
                    trial = current[:i] + [c] + current[i + 1 :]
                    d = draft_of(trial)
                    if d is not None and d.rank > here.rank:
                        here, current, improved = d, trial, True
        if best is None or here.rank > best.rank:
            best = here
    return best
