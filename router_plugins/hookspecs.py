"""Every extension point of router-plugins, one function each; the docstring is the contract.

Hooks are called with keyword arguments; an implementation may accept any subset of them, so adding an argument
later never breaks a plugin. Kinds: *collect* hooks call every implementation; *first-result* hooks stop at the first
implementation that returns something other than None — **None always means "no opinion, ask the next plugin"** —
and the built-in implementation runs last (``trylast``). ``context`` is the per-call
:class:`~router_plugins.context.PlanContext` (query, pool, roles, modes, options, scores, candidates and costs).
Stage hooks may answer with a bare value or a :class:`~router_plugins.context.Decision` carrying their own reason,
which ``Plan.explain()`` shows with the plugin's name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from numpy.typing import ArrayLike

    from router_plugins.cards import ModelCard, ModelPool
    from router_plugins.context import Decision, GuardDecision, PlanContext
    from router_plugins.escalation import Attempt
    from router_plugins.modes import Mode
    from router_plugins.outcome import Outcome
    from router_plugins.plan import Plan
    from router_plugins.query import Query, Role

hookspec = pluggy.HookspecMarker("router_plugins")
hookimpl = pluggy.HookimplMarker("router_plugins")


# -- what exists ---------------------------------------------------------------------------------------------------
@hookspec
def register_models(register: Callable[[ModelCard], None]) -> None:
    """Collect: add model cards to the router's pool by calling ``register(card)`` for each."""


@hookspec
def register_modes(register: Callable[[Mode], None]) -> None:
    """Collect: add collaboration modes (single, full, vote-k, reflection, …) by calling ``register(mode)``."""


@hookspec
def register_tasks(register: Callable[[str], None], pool: ModelPool) -> None:
    """Collect: declare the task families this plugin knows for ``pool`` (a scorer's training tasks) by calling
    ``register(name)``; the router warns about per-task card quality keys that no plugin knows."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Collect: add subcommands to the ``router-plugins`` command line (``cli`` is its click group)."""


# -- planning one query, in call order -----------------------------------------------------------------------------
@hookspec(firstresult=True)
def guard_query(query: Query, context: PlanContext) -> GuardDecision | None:
    """First result: vet a query before routing — a GuardDecision to reject it or pin it to one model; None passes."""


@hookspec(firstresult=True)
def score_models(query: Query, pool: ModelPool, context: PlanContext) -> Sequence[float] | None:
    """First result: expected quality in [0, 1] of each pool model on this query, aligned with ``pool.names``;
    None lets the next scorer answer (the card priors answer last)."""


@hookspec(firstresult=True)
def score_batch(queries: Sequence[Query], pool: ModelPool, context: PlanContext) -> ArrayLike | None:
    """First result: expected quality for many queries at once, an array [n_queries, n_models]; None scores one by
    one through ``score_models``."""


@hookspec(firstresult=True)
def estimate_cost(query: Query, role: Role, card: ModelCard, context: PlanContext) -> float | None:
    """First result: predicted USD of one call of ``card`` for ``role`` on ``query`` (finite, ≥ 0); None: next."""


@hookspec(firstresult=True)
def select_mode(query: Query, modes: Sequence[Mode], scores: Sequence[float], context: PlanContext) -> str | Decision | None:
    """First result, stage 1 of the cascade: the name of the collaboration mode, one of ``modes``; None: next."""


@hookspec(firstresult=True)
def allocate_roles(query: Query, mode: Mode, roles: Sequence[Role], context: PlanContext) -> Sequence[str] | Decision | None:
    """First result, stage 2: the names of the roles that run under ``mode`` (every required role must be kept);
    None: next."""


@hookspec(firstresult=True)
def route_role(
    query: Query, role: Role, candidates: Sequence[ModelCard], scores: Sequence[float], context: PlanContext
) -> str | Decision | None:
    """First result, stage 3: the model name for one kept role, one of ``candidates`` (``scores`` aligned); the
    choice must keep the plan within the budget. None: next."""


@hookspec(firstresult=True)
def adjust_plan(plan: Plan, context: PlanContext) -> Plan | None:
    """First result: the last word on a finished Plan (budgets, compliance, pinning, A/B). Use ``wrapper=True`` to
    edit the built-in result; changed models are re-priced, and a plan over the budget counts as a fault."""


# -- after planning ------------------------------------------------------------------------------------------------
@hookspec(firstresult=True)
def judge_response(
    query: Query, model: str, response: str, attempts: Sequence[Attempt], context: PlanContext
) -> float | None:
    """First result, escalation cascades: P(``response`` of ``model`` is a right answer to ``query``) in [0, 1], given
    the earlier ``attempts``; None: no opinion (the built-in checks run last)."""


@hookspec(firstresult=True)
def make_chat_model(card: ModelCard, framework: str) -> Any | None:
    """First result: the client a framework needs for a card (framework: 'langchain', 'autogen', …); None: next."""


@hookspec
def record_outcome(plan: Plan, outcome: Outcome) -> None:
    """Collect: receive what happened when a plan ran (online learning, logs, telemetry); must not raise."""
