"""Hand-off targets of prebuilt multi-agent graphs: which agents may be pruned, and the guard that keeps that safe.

Supervisor and swarm agents are entered with ``Command(goto=agent)`` returned by hand-off tools, visible only as the
calling node's ``destinations`` (``spec.ends``). Such an agent can be dropped from a variant when every node that
hands off to it does so through a hand-off tool in a ``ToolNode`` of its subgraph: the variant then gets a copy of
that subgraph whose ``ToolNode`` lacks the tool, so a model that calls it anyway gets LangGraph's "not a valid tool"
error message back (and can choose again) instead of the run ending silently on a ``goto`` to a missing node.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from router_plugins.adapters.langgraph._compat import set_tools_by_name
from router_plugins.adapters.langgraph._rewire import GraphTemplate, build_variant, snapshot

__all__ = [
    "HANDOFF_METADATA_KEY",
    "guard_runnables",
    "guarded_destinations",
    "handoff_blocker",
    "handoff_destination",
    "handoff_sources",
]

#: Tool metadata key naming a hand-off tool's destination agent (langgraph-supervisor / langgraph-swarm).
HANDOFF_METADATA_KEY = "__handoff_destination"


def handoff_destination(tool: Any) -> str | None:
    """The agent a hand-off tool transfers to (from its metadata, not its name), else None."""
    meta = getattr(tool, "metadata", None)
    if isinstance(meta, dict) and isinstance(meta.get(HANDOFF_METADATA_KEY), str):
        return meta[HANDOFF_METADATA_KEY]
    return None


def handoff_sources(template: GraphTemplate, node: str) -> list[str]:
    """The other nodes that may ``Command(goto=...)`` to ``node`` (their destinations list it)."""
    return [n for n in template.node_names if n != node and node in _ends(template.spec(n).ends)]


def _ends(ends: Any) -> tuple[str, ...]:
    if not ends:
        return ()
    return tuple(ends.values()) if isinstance(ends, Mapping) else tuple(ends)


def _subgraph(runnable: Any) -> CompiledStateGraph | None:
    return runnable if isinstance(runnable, CompiledStateGraph) and runnable.builder is not None else None


def guarded_destinations(runnable: Any) -> set[str]:
    """Agents a node hands off to through hand-off tools of a ``ToolNode`` inside its subgraph (nested too)."""
    sub = _subgraph(runnable)
    if sub is None:
        return set()
    out: set[str] = set()
    for spec in sub.builder.nodes.values():
        if isinstance(spec.runnable, ToolNode):
            out.update(d for t in spec.runnable.tools_by_name.values() if (d := handoff_destination(t)))
        else:
            out |= guarded_destinations(spec.runnable)
    return out


def handoff_blocker(template: GraphTemplate, node: str) -> str | None:
    """Why ``node``, a ``Command(goto=...)`` target, cannot be pruned as a hand-off target (None when it can)."""
    for src in handoff_sources(template, node):
        if node not in guarded_destinations(template.spec(src).runnable):
            return (
                f"node {src!r} may Command(goto={node!r}) from code the router cannot guard "
                "(no hand-off tool to it in a ToolNode of its subgraph)"
            )
    return None


def _filtered_tool_node(node: ToolNode, pruned: Collection[str]) -> ToolNode | None:
    keep = {n: t for n, t in node.tools_by_name.items() if handoff_destination(t) not in pruned}
    if len(keep) == len(node.tools_by_name):
        return None
    filtered = copy.copy(node)
    set_tools_by_name(filtered, keep)
    for attr in ("func", "afunc"):  # RunnableCallable holds methods bound to the original node: rebind them
        method = getattr(node, attr, None)
        if getattr(method, "__self__", None) is node:
            setattr(filtered, attr, getattr(filtered, method.__name__))
    return filtered


def _guarded(runnable: Any, pruned: Collection[str]) -> Any | None:
    """A copy of a compiled subgraph without hand-off tools to ``pruned`` agents (None when nothing changes)."""
    sub = _subgraph(runnable)
    if sub is None:
        return None
    swaps: dict[str, Any] = {}
    for name, spec in sub.builder.nodes.items():
        if isinstance(spec.runnable, ToolNode):
            new = _filtered_tool_node(spec.runnable, pruned)
        else:
            new = _guarded(spec.runnable, pruned)
        if new is not None:
            swaps[name] = new
    if not swaps:
        return None
    builder = build_variant(snapshot(sub.builder), ())
    for name, new in swaps.items():
        builder.nodes[name] = replace(builder.nodes[name], runnable=new)
    compiled = builder.compile(
        checkpointer=sub.checkpointer,
        store=sub.store,
        cache=sub.cache,
        interrupt_before=sub.interrupt_before_nodes or None,
        interrupt_after=sub.interrupt_after_nodes or None,
        debug=sub.debug,
        name=sub.name,
    )
    compiled.step_timeout = sub.step_timeout
    compiled.retry_policy = sub.retry_policy
    return compiled.with_config(sub.config) if sub.config else compiled


def guard_runnables(template: GraphTemplate, pruned: Iterable[str]) -> dict[str, Any]:
    """Replacement runnables for the kept nodes that hand off to ``pruned`` agents (their hand-off tools removed)."""
    pruned = set(pruned)
    out: dict[str, Any] = {}
    for node in template.node_names:
        if node in pruned or not pruned & set(_ends(template.spec(node).ends)):
            continue
        guarded = _guarded(template.spec(node).runnable, pruned)
        if guarded is not None:
            out[node] = guarded
    return out
