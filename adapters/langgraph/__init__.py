"""LangGraph adapter: ``routed`` plans every run of a ``StateGraph`` builder, prunes its optional nodes and gives
each node its model (:func:`routed_model`, or a :class:`RoutedChatModel` proxy for prebuilt multi-agent graphs)."""

from router_plugins.adapters.langgraph._binding import (
    BINDING_KEY,
    RouteBinding,
    current_binding,
    default_query,
    routed_model,
)
from router_plugins.adapters.langgraph._rewire import RewireError
from router_plugins.adapters.langgraph.chat_model import RoutedChatModel
from router_plugins.adapters.langgraph.graph import (
    METADATA_KEY,
    PLAN_KEY,
    RoutedCompiledStateGraph,
    RoutedStateGraph,
    routed,
)

__all__ = [
    "BINDING_KEY",
    "METADATA_KEY",
    "PLAN_KEY",
    "RewireError",
    "RouteBinding",
    "RoutedChatModel",
    "RoutedCompiledStateGraph",
    "RoutedStateGraph",
    "current_binding",
    "default_query",
    "routed",
    "routed_model",
]
