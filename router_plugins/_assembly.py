"""Turning the stage hooks' decisions into a Plan, re-pricing a plan a plugin edited, and the fallback plans.

The fallback is for faults (a scorer crash, NaN scores, a timeout, a failing plugin), never a way around the budget:
it runs only the required roles, each on a model it is allowed (the guard's pin, else the default model, else the
role's cheapest allowed model), priced by the cost hook (by the cards when the hook is the fault), and raises
BudgetError when even that does not fit — so a budget no plan fits raises whatever ``fail_open`` says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from router_plugins.cards import ModelCard
from router_plugins.context import PlanContext
from router_plugins.errors import BudgetError
from router_plugins.modes import Mode
from router_plugins.plan import Plan, RoleAssignment
from router_plugins.planner import Candidate, Draft, plan_quality
from router_plugins.query import Role

__all__ = ["assemble", "fallback_plan", "plan_metadata", "query_id", "reprice"]

_EPS = 1e-9


def query_id(ctx: PlanContext) -> str:
    """A short stable id of the query text (a hash: the text itself never enters the plan)."""
    return hashlib.sha256(ctx.query.text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def plan_metadata(ctx: PlanContext) -> dict[str, Any]:
    """What a plan records about its query beyond the decision: the task family (for feedback) and a guard's pin."""
    meta: dict[str, Any] = {}
    if ctx.query.task:
        meta["task"] = ctx.query.task
    if ctx.guard:
        meta["guard"] = ctx.guard.reason
    meta.update(ctx.metadata)  # what plugins recorded for the plan (PlanContext.metadata)
    return meta


def _quality(ctx: PlanContext, mode: Mode, chosen: Mapping[str, Candidate]) -> float:
    """The plan's predicted quality: the planner's own draft when the stages agreed with it, else computed once."""
    draft: Draft | None = ctx.memo.get("final_draft")
    if draft is not None and draft.mode.name == mode.name and {r: c.model for r, c in draft.kept.items()} == {
        r: c.model for r, c in chosen.items()
    }:
        return draft.quality
    return plan_quality(ctx.roles, chosen, mode)


def assemble(
    ctx: PlanContext,
    mode: Mode,
    chosen: Mapping[str, Candidate],
    reasons: Mapping[str, tuple[str, str | None]],
) -> Plan:
    """The Plan of the stages' decisions; ``reasons`` maps each role to (why, plugin that decided)."""
    roles = []
    for role in ctx.roles:
        why, by = reasons.get(role.name, ("", None))
        c = chosen.get(role.name)
        if c is None:
            roles.append(RoleAssignment(role.name, None, why, decided_by=by or ""))
        else:
            roles.append(
                RoleAssignment(
                    role.name,
                    c.model,
                    why,
                    quality=round(mode.transform(c.quality), 6),
                    cost_usd=c.cost * mode.samples,
                    latency_s=c.latency * mode.samples,
                    samples=mode.samples,
                    decided_by=by or "",
                )
            )
    return Plan(
        mode=mode.name,
        roles=tuple(roles),
        quality=round(_quality(ctx, mode, chosen), 6),
        cost_usd=sum(c.cost for c in chosen.values()) * mode.samples,
        latency_s=sum(c.latency for c in chosen.values()) * mode.samples,
        budget_usd=ctx.budget_usd,
        lam=ctx.lam,
        query_id=query_id(ctx),
        metadata=plan_metadata(ctx),
    )


def reprice(ctx: PlanContext, plan: Plan, modes: Mapping[str, Mode]) -> Plan:
    """Recompute predictions after adjust_plan changed models, so quality and cost stay truthful."""
    mode = modes.get(plan.mode, ctx.modes[0])
    chosen = {}
    for r in plan.roles:
        if r.model is not None:
            cands = ctx.candidates(ctx.role(r.role), whole_pool=True)
            chosen[r.role] = next(c for c in cands if c.model == r.model)
    roles = tuple(
        r if r.model is None else replace(r, cost_usd=chosen[r.role].cost * r.samples,
                                          latency_s=chosen[r.role].latency * r.samples,
                                          quality=round(mode.transform(chosen[r.role].quality), 6))
        for r in plan.roles
    )
    return replace(
        plan,
        roles=roles,
        quality=round(plan_quality(ctx.roles, chosen, mode), 6),
        cost_usd=sum(r.cost_usd for r in roles),
        latency_s=sum(r.latency_s for r in roles),
    )


def _card_cost(ctx: PlanContext, role: Role, card: ModelCard) -> float:
    """The cost hook's estimate, or the card's token price when the hook is what failed."""
    try:
        return ctx.cost(role, card)
    except Exception:
        from router_plugins._tokens import estimate_tokens

        return card.cost_usd(estimate_tokens(ctx.query.text) + role.prompt_tokens,
                             role.output_tokens or card.output_tokens)


def _fallback_model(ctx: PlanContext, role: Role, default_model: str) -> ModelCard:
    allowed = ctx.allowed(role)
    if default_model in allowed:
        return ctx.pool[default_model]
    return min((ctx.pool[m] for m in allowed), key=lambda c: (_card_cost(ctx, role, c), c.latency_s, c.name))


def fallback_plan(ctx: PlanContext, reason: str, default_model: str) -> Plan:
    """The fault fallback (see module docstring); BudgetError when its required roles do not fit the budget."""
    required = [r for r in ctx.roles if not r.optional] or list(ctx.roles[:1])  # a plan runs at least one role
    roles = []
    for r in ctx.roles:
        if r in required:
            card = _fallback_model(ctx, r, default_model)
            roles.append(RoleAssignment(r.name, card.name, "fallback", cost_usd=_card_cost(ctx, r, card),
                                        latency_s=card.latency_s, decided_by="fallback"))
        else:
            roles.append(RoleAssignment(r.name, None, "fallback runs only required roles", decided_by="fallback"))
    cost = sum(r.cost_usd for r in roles)
    if ctx.budget_usd is not None and cost > ctx.budget_usd * (1 + _EPS):
        raise BudgetError(
            f"planning failed ({reason}) and the fallback plan (required roles on their fallback models) costs "
            f"${cost:.6g}, over the budget of ${ctx.budget_usd:.6g}: raise the budget or add a cheaper model"
        )
    return Plan(
        mode="fallback",
        roles=tuple(roles),
        quality=None,
        cost_usd=cost,
        latency_s=sum(r.latency_s for r in roles),
        budget_usd=ctx.budget_usd,
        lam=ctx.lam,
        query_id=query_id(ctx),
        fallback=True,
        reason=reason,
        metadata=plan_metadata(ctx),
    )


def check_budget(ctx: PlanContext, plan: Plan) -> None:
    """BudgetError when a plugin's choices put a plan over the budget (fail-open then tries the fallback plan)."""
    if ctx.budget_usd is not None and plan.cost_usd > ctx.budget_usd * (1 + _EPS):
        raise BudgetError(
            f"plan costs ${plan.cost_usd:.6g}, over the budget of ${ctx.budget_usd:.6g} (set by a plugin's choice)"
        )
