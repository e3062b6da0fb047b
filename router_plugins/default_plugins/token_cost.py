"""Default cost estimate: estimated query tokens (+ the role's prompt) in, typical tokens out, at card prices."""

from __future__ import annotations

from typing import Any

from router_plugins.cards import ModelCard
from router_plugins.hookspecs import hookimpl
from router_plugins.query import Query, Role
from router_plugins._tokens import estimate_tokens


def call_cost(query_tokens: int, role: Role, card: ModelCard) -> float:
    """USD for one call of ``card`` in ``role`` on a query of ``query_tokens`` estimated tokens."""
    return card.cost_usd(query_tokens + role.prompt_tokens, role.output_tokens or card.output_tokens)


@hookimpl(trylast=True)
def estimate_cost(query: Query, role: Role, card: ModelCard) -> float:
    """USD for one call of ``card`` in ``role``."""
    return call_cost(estimate_tokens(query.text), role, card)


def is_only_estimate(hook: Any) -> bool:
    """Whether this module answers ``estimate_cost`` alone (no other plugin implements it), so a planner may call
    :func:`call_cost` directly: the hook round trip was a fifth of a 20-role plan's time."""
    impls = hook.estimate_cost.get_hookimpls()
    return len(impls) == 1 and impls[0].function is estimate_cost
