"""The per-run binding of a routed LangGraph run: what its nodes read to find their model (:func:`routed_model`).

It travels in ``config["configurable"]`` under :data:`BINDING_KEY` (never in globals), so concurrent runs with
different plans do not see each other's models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig

from router_plugins.errors import ConfigError
from router_plugins.plan import Plan
from router_plugins.query import Query

if TYPE_CHECKING:
    from router_plugins.adapters.langgraph.graph import GraphRouting

__all__ = ["BINDING_KEY", "RouteBinding", "current_binding", "default_query", "routed_model"]

#: ``config["configurable"]`` key of the per-run binding (double underscore: LangGraph keeps it out of checkpoints).
BINDING_KEY = "__router_plugins_route__"
_QUERY_KEYS = ("question", "query", "input", "task", "prompt")

QueryFn = Callable[[Any], "Query | str"]

def default_query(state: Any) -> Query | str:
    """The query of an input state: the first text under question/query/input/task/prompt, else the last human message."""
    if isinstance(state, Mapping):
        for key in _QUERY_KEYS:
            if isinstance(state.get(key), (str, Query)):
                return state[key]
        messages = state.get("messages")
        if messages:
            for msg in reversed(list(messages)):
                role = getattr(msg, "type", None) or (msg.get("role") if isinstance(msg, Mapping) else None)
                content = getattr(msg, "content", None) or (msg.get("content") if isinstance(msg, Mapping) else None)
                if role in ("human", "user") and isinstance(content, str):
                    return content
    raise ConfigError(
        f"cannot find the query in the input state (looked for {list(_QUERY_KEYS)} and human messages): "
        "pass routed(..., query=lambda state: ...)"
    )


# --- per-run binding -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RouteBinding:
    """What one run needs at its nodes: the plan, node → role, and where models come from."""

    plan: Plan
    node_roles: Mapping[str, str]
    routing: GraphRouting

    def role_of(self, config: RunnableConfig) -> str | None:
        """The role of the node running under ``config`` (its own node, else the enclosing node of a subgraph)."""
        node = (config.get("metadata") or {}).get("langgraph_node")
        if node in self.node_roles:
            return self.node_roles[node]
        ns = (config.get("configurable") or {}).get("checkpoint_ns") or ""
        for part in reversed(ns.split("|")):
            name = part.split(":", 1)[0]
            if name in self.node_roles:
                return self.node_roles[name]
        return None

    def model_name(self, role: str) -> str | None:
        """The model the plan gives ``role`` (None when pruned); KeyError naming the roles when unknown."""
        return self.plan.model_for(role)

    def chat_model(self, role: str, default: Any = None) -> Any:
        """The chat model client for ``role``, built by the ``make_chat_model`` hook (cached per model); when it
        cannot be built, ``default`` (else the router's default model) under fail-open, else ModelBuildError."""
        name = self.model_name(role)
        if name is None:
            raise LookupError(f"role {role!r} is pruned in plan {self.plan.signature}: it should not be running")
        return self.routing.clients.get_or_default(name, default)[0]


def current_binding(config: RunnableConfig | None) -> RouteBinding | None:
    """The routed run's binding carried by ``config`` (None outside a routed run)."""
    binding = ((config or {}).get("configurable") or {}).get(BINDING_KEY)
    return binding if isinstance(binding, RouteBinding) else None


def routed_model(config: RunnableConfig | None = None, *, role: str | None = None, default: Any = None) -> Any:
    """The chat model the current plan chose for this node (``config`` defaults to the run's, via ``get_config``).

    ``default`` is the application's own model: returned when the run fell back (planning failed, fail-open), the
    node is not routed, or the planned model's client cannot be built (fail-open; ``ModelBuildError`` without it).
    Without it those cases get the router's ``default_model`` / raise LookupError.
    """
    if config is None:
        from langgraph.config import get_config

        config = get_config()
    binding = (config.get("configurable") or {}).get(BINDING_KEY)
    if not isinstance(binding, RouteBinding):
        if default is not None:
            return default
        raise LookupError("routed_model() was called outside a run of a routed graph (no plan in the run config)")
    if binding.plan.fallback and default is not None:
        return default
    role = role or binding.role_of(config)
    if role is None:
        if default is not None:
            return default
        node = (config.get("metadata") or {}).get("langgraph_node")
        raise LookupError(
            f"node {node!r} has no router metadata; add metadata={{'router': {{...}}}} or pass routed_model(role=...)"
        )
    if binding.plan.fallback and role not in binding.plan.assignments:
        return binding.routing.clients.get_or_default(binding.routing.router.default_model)[0]
    return binding.chat_model(role, default)
