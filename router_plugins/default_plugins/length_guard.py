"""Guard: refuse a query that fits no model's context window (a clear error beats a provider's 400)."""

from __future__ import annotations

from router_plugins.context import GuardDecision, PlanContext
from router_plugins.hookspecs import hookimpl
from router_plugins.query import Query
from router_plugins._tokens import estimate_tokens


@hookimpl(trylast=True)
def guard_query(query: Query, context: PlanContext) -> GuardDecision | None:
    """Reject when the estimated prompt is longer than the largest context window in the pool."""
    tokens = estimate_tokens(query.text)
    window = max(card.context_window for card in context.pool)
    if tokens > window:
        return GuardDecision("reject", f"query is ~{tokens:,} tokens, over the largest context window ({window:,})")
    return None
