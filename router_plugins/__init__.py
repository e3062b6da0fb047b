"""router-plugins: plan which agents run and which LLM each uses, under a cost budget, before the app runs.

Importing this package is light: torch, transformers, langgraph and autogen load only when an adapter or the
trained scorer is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from router_plugins.cards import ModelCard, ModelPool
from router_plugins.context import Decision, GuardDecision, PlanContext
from router_plugins.errors import (
    BudgetError,
    CheckpointError,
    ConfigError,
    DataError,
    EmptyPoolError,
    ModelBuildError,
    PlanningError,
    QueryError,
    QueryRejectedError,
    RouterError,
    ScorerError,
    UnknownModelError,
)
from router_plugins.hookspecs import hookimpl
from router_plugins.modes import Mode
from router_plugins.options import PlanOptions
from router_plugins.outcome import Outcome, RoleOutcome
from router_plugins.plan import Plan, RoleAssignment
from router_plugins.query import Query, Role

if TYPE_CHECKING:
    from router_plugins.router import Router

__version__ = "0.1.0"

__all__ = [
    "BudgetError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "Decision",
    "EmptyPoolError",
    "GuardDecision",
    "Mode",
    "ModelBuildError",
    "ModelCard",
    "ModelPool",
    "Outcome",
    "Plan",
    "PlanContext",
    "PlanOptions",
    "PlanningError",
    "Query",
    "QueryError",
    "QueryRejectedError",
    "Role",
    "RoleAssignment",
    "RoleOutcome",
    "Router",
    "RouterError",
    "ScorerError",
    "UnknownModelError",
    "hookimpl",
]


def __getattr__(name: str) -> Any:
    # Router pulls in pluggy and the default plugins; load it on first use.
    if name == "Router":
        from router_plugins.router import Router

        return Router
    raise AttributeError(f"module 'router_plugins' has no attribute {name!r}")
