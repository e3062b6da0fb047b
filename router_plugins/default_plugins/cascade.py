"""The closed-form cascade planner behind the three stage hooks (mode → roles → model per role).

The stages share one joint optimisation per call (memoised in the context), so the built-in answer is the
joint optimum; when a plugin overrides an earlier stage, the later built-in stages re-optimise around it. Each
answer carries its reason (a :class:`Decision`), so a plan explains the planner's own view of its choices.
"""

from __future__ import annotations

from collections.abc import Sequence

from router_plugins.context import Decision, PlanContext
from router_plugins.errors import BudgetError
from router_plugins.hookspecs import hookimpl
from router_plugins.modes import Mode
from router_plugins.plan import Plan
from router_plugins.planner import Draft, cheapest_cost, optimise, quality_with
from router_plugins.query import Role


def _draft(context: PlanContext, mode: Mode, fixed: dict[str, str | None] | None = None,
           keep: frozenset[str] = frozenset()) -> Draft | None:
    fixed = fixed or {}
    key = ("draft", mode.name, tuple(sorted(fixed.items(), key=str)), keep)
    if key not in context.memo:
        candidates = {r.name: context.candidates(r) for r in context.roles}
        context.memo[key] = optimise(
            context.roles,
            candidates,
            mode,
            lam=context.lam,
            budget=context.budget_usd,
            max_latency=context.max_latency_s,
            fixed=fixed,
            keep=keep,
        )
    draft: Draft | None = context.memo[key]
    return draft


def _infeasible(context: PlanContext, modes: Sequence[Mode]) -> BudgetError:
    candidates = {r.name: context.candidates(r) for r in context.roles}
    floor = min(cheapest_cost(context.roles, candidates, m) for m in modes)
    limits = []
    if context.budget_usd is not None:
        limits.append(f"budget ${context.budget_usd:.6g}")
    if context.max_latency_s is not None:
        limits.append(f"latency bound {context.max_latency_s:g}s")
    return BudgetError(
        f"no plan fits the {' and '.join(limits) or 'limits'}: the cheapest plan costs ${floor:.6g}; "
        "raise the budget, add a cheaper model, or mark more roles optional"
    )


def _prune_reason(context: PlanContext, draft: Draft, role: Role) -> str:
    """Why the optimum leaves ``role`` out: its mode, the budget, or a gain below λ·cost."""
    mode = draft.mode
    if not mode.keep_optional:
        return f"mode {mode.name!r} runs only required roles"
    quality = quality_with(context.roles, draft.kept, mode, role)
    best = max(context.candidates(role), key=lambda c: quality(c) - context.lam * c.cost)
    extra = best.cost * mode.samples
    if context.budget_usd is not None and draft.cost + extra > context.budget_usd:
        return f"no room in the budget (${context.budget_usd:.6g}) for ${extra:.6g} more"
    gain = quality(best) - draft.quality
    return f"expected gain {gain:.4f} < λ·cost {context.lam * extra:.4g}"


@hookimpl(trylast=True)
def select_mode(modes: Sequence[Mode], context: PlanContext) -> Decision:
    """The mode whose best plan has the highest quality − λ·cost (ties: quality, output, input cost, latency)."""
    drafts = [d for d in (_draft(context, m) for m in modes) if d is not None]
    if not drafts:
        raise _infeasible(context, modes)
    best = max(drafts, key=lambda d: d.rank)
    return Decision(best.mode.name, f"best quality − λ·cost of {len(drafts)} mode(s)")


@hookimpl(trylast=True)
def allocate_roles(mode: Mode, roles: Sequence[Role], context: PlanContext) -> Decision:
    """The roles kept by the best plan under the chosen mode, with why each other role is left out."""
    draft = _draft(context, mode)
    if draft is None:
        raise _infeasible(context, [mode])
    pruned = [r for r in roles if r.name not in draft.kept]
    return Decision([r.name for r in roles if r.name in draft.kept],
                    reasons={r.name: _prune_reason(context, draft, r) for r in pruned})


@hookimpl(trylast=True)
def route_role(role: Role, context: PlanContext) -> Decision:
    """The role's model in the best plan given the kept roles and the models already chosen for earlier roles."""
    mode: Mode = context.memo["mode"]
    kept: frozenset[str] = context.memo["kept"]
    draft = _draft(context, mode)
    if draft is None or set(draft.kept) != kept or any(draft.kept[r].model != m for r, m in context.fixed.items()):
        # an earlier stage (a plugin) departed from the joint optimum: re-solve around its choices
        fixed: dict[str, str | None] = {r.name: None for r in context.roles if r.name not in kept}
        fixed.update(context.fixed)
        draft = _draft(context, mode, fixed, keep=kept)
        if draft is None or role.name not in draft.kept:
            raise _infeasible(context, [mode])
    context.memo["final_draft"] = draft
    n = len(context.candidates(role))
    return Decision(draft.kept[role.name].model, f"best quality − λ·cost ({n} candidates)")


@hookimpl(trylast=True)
def adjust_plan(plan: Plan) -> Plan:
    """The plan as planned; adjusting plugins wrap this (``wrapper=True``) or answer first."""
    return plan
