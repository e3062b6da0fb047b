"""Faults at run time: the budget stays hard, hung plugins do not starve the planner, plans say who decided."""

from __future__ import annotations

import math
import random
import threading
import time
from typing import Any

import pytest

from router_plugins import BudgetError, Decision, ModelCard, PlanOptions, Role, Router, hookimpl
from router_plugins.errors import ConfigError, PlanningError


def _router(cards: list[ModelCard], *plugins: Any, **kwargs: Any) -> Router:
    return Router(cards, plugins=plugins, load_entrypoints=False, disable_plugins=["router_plugins.scorer.plugin"],
                  **kwargs)


CARDS = [
    ModelCard(name="small", input_price=0.1, output_price=0.2, quality=0.5),
    ModelCard(name="mid", input_price=1.0, output_price=2.0, quality=0.7),
    ModelCard(name="big", input_price=10.0, output_price=30.0, quality=0.9),
]


class Crash:
    @hookimpl(tryfirst=True)
    def score_models(self) -> list[float]:
        raise RuntimeError("scorer crashed")


class NaN:
    @hookimpl(tryfirst=True)
    def score_models(self, pool: Any) -> list[float]:
        return [math.nan] * len(pool)


class BadPlugin:
    @hookimpl(tryfirst=True)
    def route_role(self) -> str:
        raise ValueError("plugin error")


class Slow:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    @hookimpl(tryfirst=True)
    def score_models(self) -> None:
        time.sleep(self.seconds)


def test_fallback_drops_optional_roles_and_respects_each_roles_models() -> None:
    router = _router(CARDS, Crash(), default_model="big")
    roles = [Role("solver", models=("small", "mid")), Role("critic", optional=True), Role("writer")]
    plan = router.plan("q", roles, PlanOptions(budget_usd=1.0))
    assert plan.fallback and "scorer crashed" in plan.reason
    assert plan.assignments == {"solver": "small", "critic": None, "writer": "big"}  # 'big' not allowed for solver
    assert plan.cost_usd <= 1.0


def test_fallback_that_does_not_fit_the_budget_raises_budget_error() -> None:
    router = _router(CARDS, Crash(), default_model="big")
    with pytest.raises(BudgetError, match="fallback plan"):
        router.plan("q", [Role("solver")], PlanOptions(budget_usd=1e-5))  # big does not fit, small would


def test_executed_plan_never_exceeds_the_budget_under_faults() -> None:
    """10,000 random pools, roles, budgets and injected faults: a plan within budget, or BudgetError."""
    rng = random.Random(7)
    faults: list[Any] = [None, None, Crash(), NaN(), BadPlugin(), None, Crash(), NaN(), BadPlugin(), Slow(0.01)]
    routers: dict[tuple[int, int], Router] = {}
    pools = []
    for p in range(20):
        cards = [ModelCard(name=f"m{i}", input_price=rng.choice([0.0, 0.01, 0.5, 3.0, 40.0]),
                           output_price=rng.choice([0.0, 0.02, 1.0, 10.0, 80.0]), quality=rng.random())
                 for i in range(rng.randint(1, 5))]
        pools.append(cards)
    checked = raised = 0
    for _ in range(10_000):
        p, f = rng.randrange(len(pools)), rng.randrange(len(faults))
        cards = pools[p]
        key = (p, f)
        if key not in routers:
            fault = faults[f]
            routers[key] = _router(cards, *([fault] if fault else []), timeout_s=0.001 if isinstance(fault, Slow)
                                   else None, default_model=rng.choice(cards).name)
        router = routers[key]
        names = [c.name for c in cards]
        roles = [Role(f"r{j}", optional=rng.random() < 0.4,
                      models=tuple(rng.sample(names, rng.randint(1, len(names)))) if rng.random() < 0.5 else None)
                 for j in range(rng.randint(1, 4))]
        budget = 10 ** rng.uniform(-7, -1)
        try:
            plan = router.plan("x " * rng.randint(1, 300), roles, PlanOptions(budget_usd=budget))
        except BudgetError:
            raised += 1
            continue
        checked += 1
        assert plan.cost_usd <= budget * (1 + 1e-9), plan.explain()
        for r in roles:
            model = plan.assignments[r.name]
            assert model is None or r.models is None or model in r.models
    assert checked > 1000 and raised > 1000  # both sides of the rule were exercised


def test_hung_plugin_calls_do_not_starve_later_plans() -> None:
    release = threading.Event()

    class Hang:
        @hookimpl(tryfirst=True)
        def score_models(self, query: Any) -> None:
            if "hang" in query.text:
                release.wait(30)

    router = _router(CARDS, Hang(), timeout_s=0.2)
    try:
        hung = [router.plan(f"hang {i}") for i in range(6)]  # more than any fixed worker pool of 4
        assert all(p.fallback and "timeout" in p.reason for p in hung)
        assert router.hung_plans == 6
        fast = router.plan("a quick question")
        assert not fast.fallback  # the hung calls hold their own threads, not the planner's
    finally:
        release.set()
    deadline = time.monotonic() + 10
    while router.hung_plans and time.monotonic() < deadline:
        time.sleep(0.01)
    assert router.hung_plans == 0


def test_too_many_hung_calls_fail_fast() -> None:
    from router_plugins._timeout import TimedCalls

    release = threading.Event()
    timed = TimedCalls(max_hung=2)
    for _ in range(2):
        with pytest.raises(PlanningError, match="timeout"):
            timed.run(lambda: release.wait(30), 0.01)
    with pytest.raises(PlanningError, match="2 planning calls are hung"):
        timed.run(lambda: 1, 1.0)
    release.set()


def test_explain_names_the_plugin_that_pinned_a_model() -> None:
    class PinBig:
        @hookimpl(tryfirst=True)
        def route_role(self, role: Role) -> str | None:
            return "big" if role.name == "solver" else None

    plan = _router(CARDS, PinBig()).plan("q", [Role("solver"), Role("writer")])
    solver = plan.roles[0]
    assert solver.model == "big" and "PinBig" in solver.decided_by and "PinBig" in solver.reason
    assert "λ·cost" not in solver.reason
    assert plan.roles[1].decided_by == "router_plugins.default_plugins.cascade"
    assert "PinBig" in plan.explain()


def test_explain_uses_a_plugins_own_prune_reason_never_a_made_up_one() -> None:
    class Prune:
        @hookimpl(tryfirst=True)
        def allocate_roles(self, roles: Any) -> list[str]:
            return [r.name for r in roles if not r.optional]

    class PruneWithReason:
        @hookimpl(tryfirst=True)
        def allocate_roles(self, roles: Any) -> Decision:
            return Decision([r.name for r in roles if not r.optional], reasons={"critic": "tenant policy: no critics"})

    roles = [Role("solver"), Role("critic", optional=True, lift=0.9)]
    plain = _router(CARDS, Prune()).plan("q", roles)
    critic = plain.roles[1]
    assert critic.model is None and "Prune" in critic.decided_by
    assert "expected gain" not in critic.reason and "λ·cost" not in critic.reason
    own = _router(CARDS, PruneWithReason()).plan("q", roles).roles[1]
    assert own.reason == "tenant policy: no critics" and "PruneWithReason" in own.decided_by


def test_plan_options_validate_and_layer() -> None:
    with pytest.raises(ConfigError, match="lam"):
        PlanOptions(lam=-1)
    with pytest.raises(ConfigError, match="budget_usd"):
        PlanOptions(budget_usd=math.inf)
    with pytest.raises(ConfigError, match="modes"):
        PlanOptions(modes=())
    with pytest.raises(ConfigError, match="PlanOptions"):
        _router(CARDS).plan("q", None, {"lam": 1})  # type: ignore[arg-type]
    base = PlanOptions(lam=5, budget_usd=1.0, modes=("single",))
    assert PlanOptions(lam=0).over(base) == PlanOptions(lam=0, budget_usd=1.0, modes=("single",))
    assert PlanOptions(modes="full").modes == ("full",)  # type: ignore[arg-type]
