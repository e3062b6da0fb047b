"""Every use of a private LangGraph internal, in one place, each checked by :func:`check` so that a LangGraph release
that renames one fails with a message naming it (tests call ``check()``), not with an AttributeError deep in a run.

Why each is needed: LangGraph has no public way to copy a builder without some nodes (``_add_schema``,
``_node_defaults``), to merge two run configs the way ``invoke`` does (``merge_configs``), to narrow the tools of a
built ``ToolNode`` (``_tools_by_name``), or to make ``compile()`` return a subclass (``__class__`` swap; the routing
state must live on the class because ``with_config()`` rebuilds instances from ``__dict__``).
"""

from __future__ import annotations

import copy
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

__all__ = ["add_schema", "check", "merge_configs", "node_defaults", "set_node_defaults", "set_tools_by_name",
           "swap_class"]


def merge_configs(*configs: RunnableConfig | None) -> RunnableConfig:
    """Merge run configs as LangGraph does for ``invoke(input, config)`` (tags, metadata and configurable combined)."""
    from langgraph._internal._config import merge_configs as merge

    return merge(*configs)


def add_schema(graph: StateGraph, schema: Any) -> None:
    """Register a node's input schema with a builder (``add_node`` does this; copying a spec does not)."""
    graph._add_schema(schema)


def node_defaults(graph: StateGraph) -> Any:
    """A copy of the builder's ``set_node_defaults`` values (None when the builder has none)."""
    return copy.copy(getattr(graph, "_node_defaults", None))


def set_node_defaults(graph: StateGraph, defaults: Any) -> None:
    """Give a copied builder the original's node defaults."""
    graph._node_defaults = copy.copy(defaults)


def set_tools_by_name(node: ToolNode, tools: dict[str, Any]) -> None:
    """Narrow the tools a (copied) ``ToolNode`` answers; any other tool name gets LangGraph's "not a valid tool"."""
    node._tools_by_name = tools


def swap_class(compiled: CompiledStateGraph, cls: type[CompiledStateGraph]) -> None:
    """Make a compiled graph an instance of a subclass without copying it (``compile()`` has no class parameter)."""
    compiled.__class__ = cls


def check() -> None:
    """Raise ImportError naming the private LangGraph internal that this version no longer has."""
    problems = []
    try:
        from langgraph._internal._config import merge_configs as _  # noqa: F401
    except ImportError:
        problems.append("langgraph._internal._config.merge_configs")
    builder = StateGraph(dict)
    if not callable(getattr(builder, "_add_schema", None)):
        problems.append("StateGraph._add_schema")
    if not hasattr(builder, "_node_defaults"):
        problems.append("StateGraph._node_defaults")
    if not hasattr(ToolNode([]), "_tools_by_name"):
        problems.append("ToolNode._tools_by_name")
    if problems:
        raise ImportError(
            f"this LangGraph version lacks internals router-plugins relies on: {', '.join(problems)}; "
            "install a langgraph version within router-plugins' pin"
        )
