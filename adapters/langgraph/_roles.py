"""Roles of a routed graph, read from node metadata (and ``routed(roles=...)``), and which optional nodes must stay.

An optional node stays required when pruning it is unsafe (see ``_rewire.prune_blockers``: ``Command(goto)`` and
``Send`` targets, joins, stranded nodes); the reason is kept so that every run's metadata can say why.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from router_plugins.adapters.langgraph._handoff import handoff_blocker, handoff_sources
from router_plugins.adapters.langgraph._rewire import GraphTemplate, prune_blockers

from router_plugins.errors import ConfigError
from router_plugins.query import Role

__all__ = ["METADATA_KEY", "ROLE_FIELDS", "read_roles"]

log = logging.getLogger("router_plugins")

#: Node metadata key holding a node's routing declaration.
METADATA_KEY = "router"
ROLE_FIELDS = {"role", "optional", "models", "description", "lift", "prompt_tokens", "output_tokens", "group"}


def _declaration(template: GraphTemplate, declared: Mapping[str, Any], node: str) -> Any:
    """A node's router declaration: its metadata, updated by ``routed(..., roles={node: ...})``."""
    meta = (template.spec(node).metadata or {}).get(METADATA_KEY)
    given = declared.get(node)
    if given is None:
        return meta
    base = {} if meta in (None, True) else dict(meta)
    return {**base, **({} if given is True else dict(given))}


def _blockers(template: GraphTemplate, optional: Sequence[str]) -> tuple[dict[str, str], frozenset[str]]:
    """Why optional nodes must stay, and the hand-off targets (Command(goto) only) that may be detached."""
    handoff = {n for n in optional if handoff_sources(template, n)}
    blockers = prune_blockers(template, optional, detached=handoff)
    for node in handoff - set(blockers):
        why = handoff_blocker(template, node)
        if why:
            blockers[node] = why
    return blockers, frozenset(handoff - set(blockers))


def read_roles(
    template: GraphTemplate, declared: Mapping[str, Any], route_unannotated: bool
) -> tuple[dict[str, str], tuple[Role, ...], dict[str, str], frozenset[str]]:
    """Node → role, the roles to plan, optional nodes kept required (→ why), and the detachable hand-off targets."""
    unknown_nodes = set(declared) - set(template.node_names)
    if unknown_nodes:
        raise ConfigError(
            f"routed(roles=...) names unknown node(s) {sorted(unknown_nodes)}; nodes: {list(template.node_names)}"
        )
    decls: dict[str, dict[str, Any]] = {}
    for node in template.node_names:
        meta = _declaration(template, declared, node)
        if meta is None and not route_unannotated:
            continue
        decl = {"role": node} if meta in (None, True) else dict(meta)
        unknown = set(decl) - ROLE_FIELDS
        if unknown:
            raise ConfigError(f"node {node!r}: unknown router metadata key(s) {sorted(unknown)}; allowed: {sorted(ROLE_FIELDS)}")
        decl.setdefault("role", node)
        decls[node] = decl
    optional = [n for n, d in decls.items() if d.get("optional")]
    blockers, detached = _blockers(template, optional)
    by_role: dict[str, list[str]] = {}
    for node, decl in decls.items():
        by_role.setdefault(decl["role"], []).append(node)
    roles = []
    for name, nodes in by_role.items():
        first = decls[nodes[0]]
        for n in nodes[1:]:
            for key in ("models", "description", "lift", "prompt_tokens", "output_tokens", "group"):
                if key in decls[n] and decls[n][key] != first.get(key, decls[n][key]):
                    raise ConfigError(f"nodes {nodes} share role {name!r} but disagree on {key!r}")
        can_prune = all(decls[n].get("optional") and n not in blockers for n in nodes)
        kwargs = {k: v for k, v in first.items() if k in ROLE_FIELDS - {"role", "optional"}}
        roles.append(Role(name, optional=can_prune, **kwargs))
    for node, why in blockers.items():
        log.info("router_plugins: node %r is optional but kept required: %s", node, why)
    return {n: d["role"] for n, d in decls.items()}, tuple(roles), blockers, detached
