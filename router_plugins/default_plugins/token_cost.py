"""Default cost estimate: estimated query tokens (+ the role's prompt) in, typical tokens out, at card prices."""

from __future__ import annotations

from router_plugins.cards import ModelCard
from router_plugins.hookspecs import hookimpl
from router_plugins.query import Query, Role
from router_plugins._tokens import estimate_tokens


@hookimpl(trylast=True)
def estimate_cost(query: Query, role: Role, card: ModelCard) -> float:
    """USD for one call of ``card`` in ``role``."""
    tokens_in = estimate_tokens(query.text) + role.prompt_tokens
    return card.cost_usd(tokens_in, role.output_tokens or card.output_tokens)
