"""Every extension point of router-plugins, one function each; the docstring is the contract.

Hooks are called with keyword arguments; an implementation may accept any subset of them. ``context`` is the
per-call :class:`router_plugins.context.PlanContext` (pool, roles, modes, λ, budget, scores, a memo dict).
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("router_plugins")
hookimpl = pluggy.HookimplMarker("router_plugins")


@hookspec
def register_models(register: Any) -> None:
    """Add model cards to the router's pool: call ``register(card)`` for each ModelCard."""


@hookspec
def register_modes(register: Any) -> None:
    """Add collaboration modes (single, full, vote-k, reflection, …): call ``register(mode)`` for each Mode."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add subcommands to the ``router-plugins`` command line (``cli`` is its click group)."""


@hookspec(firstresult=True)
def guard_query(query: Any, context: Any) -> Any:
    """Vet a query before routing: return a GuardDecision to reject it or pin it to one model, None to pass."""


@hookspec(firstresult=True)
def score_models(query: Any, pool: Any, context: Any) -> Any:
    """Expected quality in [0, 1] of each pool model on this query: a sequence aligned with ``pool.names``."""


@hookspec(firstresult=True)
def score_batch(queries: Any, pool: Any, context: Any) -> Any:
    """Expected quality for many queries at once: an array [n_queries, n_models], or None to score one by one."""


@hookspec(firstresult=True)
def estimate_cost(query: Any, role: Any, card: Any, context: Any) -> float | None:
    """Predicted USD cost of one call of ``card`` for ``role`` on ``query``."""


@hookspec(firstresult=True)
def select_mode(query: Any, modes: Any, scores: Any, context: Any) -> str | None:
    """Stage 1 of the cascade: the name of the collaboration mode to use, one of ``modes``."""


@hookspec(firstresult=True)
def allocate_roles(query: Any, mode: Any, roles: Any, context: Any) -> Any:
    """Stage 2: the names of the roles that run under ``mode``; required roles must all be kept."""


@hookspec(firstresult=True)
def route_role(query: Any, role: Any, candidates: Any, scores: Any, context: Any) -> str | None:
    """Stage 3: the model name for one kept role, chosen from ``candidates`` (cards; ``scores`` aligned)."""


@hookspec(firstresult=True)
def judge_response(query: Any, model: str, response: str, attempts: Any, context: Any) -> float | None:
    """Escalation cascades: P(``response`` of ``model`` is a right answer to ``query``) in [0, 1], given the earlier
    ``attempts`` of the cascade; None for no opinion (the next plugin judges; the built-in checks run last)."""


@hookspec(firstresult=True)
def adjust_plan(plan: Any, context: Any) -> Any:
    """Last word on a finished Plan (budgets, compliance, pinning, A/B): use ``wrapper=True`` to edit the result."""


@hookspec(firstresult=True)
def make_chat_model(card: Any, framework: str) -> Any:
    """Build the client a framework needs for a card (framework: 'langchain', 'autogen', …), or None."""


@hookspec
def record_outcome(plan: Any, outcome: Any) -> None:
    """Receive what happened when a plan ran (online learning, logs, telemetry); must not raise."""
