"""Closed-form cascade optimiser: pick kept roles and a model per role to maximise quality − λ·cost.

Plan quality model (a prior that needs no training data): the kept roles form units — a role on its own, or the
kept members of one ``group`` voting by majority (independent voters; members on the same model cast that model's
one answer with their combined weight). Units with a required role set a base quality, the mean of their
mode-transformed qualities; every other kept unit removes ``lift × its quality`` of the remaining error.
Cost and latency add up over kept roles (sequential upper bound), times the mode's samples per role.
Constraints (budget, latency bound) are hard; ties go to higher quality, then lower output cost, lower input
cost, lower latency (RouteMoA's order). The search is exact and about linear in the roles: a multiple-choice
knapsack frontier per side (required units, optional units), vote groups enumerated jointly and vectorised
(``router_plugins._frontier``); when no budget or latency bound can bind, the required roles in one pass along their
hulls (``router_plugins._sweep``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from router_plugins._frontier import search
from router_plugins.modes import Mode
from router_plugins.query import Role


@dataclass(frozen=True)
class Candidate:
    """One model option for one role, with its predicted quality (before the mode), cost and latency."""

    model: str
    quality: float
    cost: float
    latency: float
    input_cost: float = 0.0
    output_cost: float = 0.0


@dataclass(frozen=True)
class Draft:
    """The optimiser's answer for one mode: kept role → candidate; plus predictions and the objective."""

    mode: Mode
    kept: Mapping[str, Candidate]
    quality: float
    cost: float
    latency: float
    objective: float

    @cached_property
    def rank(self) -> tuple[float, float, float, float, float]:
        """Sort key, larger is better: objective, quality, then lower output cost, input cost, latency."""
        out = sum(c.output_cost for c in self.kept.values()) * self.mode.samples
        inp = sum(c.input_cost for c in self.kept.values()) * self.mode.samples
        return (round(self.objective, 12), round(self.quality, 12), -out, -inp, -self.latency)


def vote_quality(voters: Sequence[tuple[str, float]]) -> float:
    """P(the majority answer is right) for (model, quality) voters, assumed independent across distinct models.

    Voters on one model repeat its answer, so a model votes once with the weight of its voters; a tie counts half.
    """
    return _vote_quality(tuple(sorted(voters)))


@lru_cache(maxsize=65536)
def _vote_quality(voters: tuple[tuple[str, float], ...]) -> float:
    # the search evaluates the same vote many times (once per choice of the other roles): cache it
    weights: dict[str, int] = {}
    quality: dict[str, float] = {}
    for model, q in voters:
        weights[model] = weights.get(model, 0) + 1
        quality[model] = q
    total = sum(weights.values())
    dist = [1.0] + [0.0] * total  # dist[w]: P(the right answer has weight w)
    for model, w in weights.items():
        q = quality[model]
        dist = [(dist[i] * (1 - q) if i < len(dist) else 0.0) + (dist[i - w] * q if i >= w else 0.0)
                for i in range(total + 1)]
    return sum(p for w, p in enumerate(dist) if 2 * w > total) + 0.5 * sum(p for w, p in enumerate(dist) if 2 * w == total)


def _units(roles: Sequence[Role], chosen: Mapping[str, Candidate], mode: Mode) -> list[tuple[bool, float, float]]:
    """(required, quality, lift) of each kept unit: an ungrouped role, or the kept members of a group."""
    units: list[tuple[bool, float, float]] = []
    groups: dict[str, list[Role]] = {}
    for r in roles:
        if r.name not in chosen:
            continue
        if r.group is None:
            units.append((not r.optional, mode.transform(chosen[r.name].quality), r.lift))
        else:
            groups.setdefault(r.group, []).append(r)
    for members in groups.values():
        voters = [(chosen[r.name].model, mode.transform(chosen[r.name].quality)) for r in members]
        units.append((any(not r.optional for r in members), vote_quality(voters), members[0].lift))
    return units


def plan_quality(roles: Sequence[Role], chosen: Mapping[str, Candidate], mode: Mode) -> float:
    """Predicted quality of a plan (see module docstring): 1 − (1 − base) · lift product."""
    units = _units(roles, chosen, mode)
    required = [q for req, q, _ in units if req]
    base = sum(required) / len(required) if required else 0.0
    return min(1.0, max(0.0, 1.0 - (1.0 - base) * lift_product(roles, chosen, mode, units)))


def quality_with(roles: Sequence[Role], chosen: Mapping[str, Candidate], mode: Mode, role: Role
                 ) -> Callable[[Candidate], float]:
    """Plan quality as a function of the candidate given to one more ``role``: in closed form for an ungrouped
    optional role (its unit only multiplies the lift product), by ``plan_quality`` otherwise."""
    if role.group is not None or not role.optional:
        return lambda c: plan_quality(roles, {**chosen, role.name: c}, mode)
    units = _units(roles, chosen, mode)
    required = [q for req, q, _ in units if req]
    base = sum(required) / len(required) if required else 0.0
    left = (1.0 - base) * lift_product(roles, chosen, mode, units)
    return lambda c: min(1.0, max(0.0, 1.0 - left * (1.0 - role.lift * mode.transform(c.quality))))


def lift_product(
    roles: Sequence[Role], chosen: Mapping[str, Candidate], mode: Mode,
    units: Sequence[tuple[bool, float, float]] | None = None,
) -> float:
    """Π (1 − lift · quality) over the kept units without a required role: the share of the base error they leave."""
    product = 1.0
    for required, q, lift in units if units is not None else _units(roles, chosen, mode):
        if not required:
            product *= 1.0 - lift * q
    return product


def _evaluate(roles: Sequence[Role], chosen: Mapping[str, Candidate], mode: Mode, lam: float) -> Draft:
    quality = plan_quality(roles, chosen, mode)
    cost = sum(c.cost for c in chosen.values()) * mode.samples
    latency = sum(c.latency for c in chosen.values()) * mode.samples
    return Draft(mode, dict(chosen), quality, cost, latency, quality - lam * cost)


def _feasible(d: Draft, budget: float | None, max_latency: float | None) -> bool:
    eps = 1e-12
    return (budget is None or d.cost <= budget + eps) and (max_latency is None or d.latency <= max_latency + eps)


def pareto_front(cands: Sequence[Candidate], *, with_latency: bool = True, slack: int = 0) -> list[Candidate]:
    """Candidates dominated by at most ``slack`` others in (quality ↑, cost ↓, latency ↓ when it is constrained).

    ``slack`` > 0 serves group members: a dominated model is still needed when its dominators may all be taken by
    other members of the group. Without slack, exact duplicates keep their first copy.
    """

    points = [(c.quality, c.cost, c.latency if with_latency else 0.0) for c in cands]
    if not slack and not with_latency:
        # two criteria: one sweep in cost order keeps each candidate that beats every cheaper one's quality
        keep, best = set(), -math.inf
        for k in sorted(range(len(cands)), key=lambda k: (points[k][1], -points[k][0])):
            if points[k][0] > best:
                keep.add(k)
                best = points[k][0]
        return [c for k, c in enumerate(cands) if k in keep]
    front: list[Candidate] = []
    kept_points: set[tuple[float, float, float]] = set()
    for c, (q, cost, lat) in zip(cands, points):
        dominators = sum(1 for oq, oc, ol in points if oq >= q and oc <= cost and ol <= lat and (oq, oc, ol) != (q, cost, lat))
        # equal points are interchangeable for one role, but distinct voters for a group
        if dominators <= slack and (slack or (q, cost, lat) not in kept_points):
            front.append(c)
            kept_points.add((q, cost, lat))
    return front


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
    in ``keep`` may not be pruned. Exact, in time about linear in the roles (see ``router_plugins._frontier``).
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
        if r.group is None:
            opts: list[Candidate | None] = list(candidates[r.name])  # the search prunes a lone role's options itself
        else:
            slack = group_size[r.group] - 1
            opts = list(pareto_front(candidates[r.name], with_latency=max_latency is not None, slack=slack))
        if r.optional and r.name not in keep:
            opts = opts + [None] if mode.keep_optional else [None]
        options.append(opts)

    return _search(roles, options, mode, lam, budget, max_latency)


def _search(
    roles: Sequence[Role],
    options: Sequence[Sequence[Candidate | None]],
    mode: Mode,
    lam: float,
    budget: float | None,
    max_latency: float | None,
) -> Draft | None:
    """The exact optimum over ``options`` by frontier search (``router_plugins._frontier``); ties by ``Draft.rank``."""
    drafts = []
    for row in search(roles, options, mode, lam, budget, max_latency)[:64]:
        chosen = {r.name: options[i][k] for i, (r, k) in enumerate(zip(roles, row)) if k >= 0}
        d = _evaluate(roles, {name: c for name, c in chosen.items() if c is not None}, mode, lam)
        if _feasible(d, budget, max_latency):
            drafts.append(d)
    return max(drafts, key=lambda d: d.rank, default=None)


def cheapest_cost(roles: Sequence[Role], candidates: Mapping[str, Sequence[Candidate]], mode: Mode) -> float:
    """Cost of the cheapest plan under ``mode``: required roles on their cheapest models (or the cheapest role)."""

    def floor(r: Role) -> float:
        return min((c.cost for c in candidates[r.name]), default=math.inf)

    required = [r for r in roles if not r.optional]
    total = sum(map(floor, required)) if required else min(map(floor, roles), default=0.0)
    return total * mode.samples
