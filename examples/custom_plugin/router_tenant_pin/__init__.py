"""Pin every role of a tenant's queries to one model (e.g. a contract that allows only one provider).

Configure with ``ROUTER_TENANT_PINS="acme=small-model,globex=local-llama"``. A pinned model that the role may
not use is ignored (the normal planner decides), so a misconfiguration never breaks routing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from router_plugins import ModelCard, Query, Role, hookimpl


def pins() -> dict[str, str]:
    """Tenant → model, read from ROUTER_TENANT_PINS each call (so tests and operators can change it)."""
    raw = os.environ.get("ROUTER_TENANT_PINS", "")
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {tenant.strip(): model.strip() for tenant, model in pairs}


@hookimpl(tryfirst=True)
def route_role(query: Query, role: Role, candidates: Sequence[ModelCard]) -> str | None:
    """The tenant's pinned model when it is a candidate for this role; None lets the planner decide."""
    model = pins().get(query.tenant or "")
    if model and any(card.name == model for card in candidates):
        return model
    return None
