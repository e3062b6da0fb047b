"""Copy a LangGraph ``StateGraph`` builder without some nodes: edges re-wired around each pruned node.

LangGraph has no public remove-node or copy API, so a variant is a new ``StateGraph`` built from a snapshot of the
original's node specs, plain edges, join (waiting) edges and conditional branches. The original builder is never
mutated. A pruned node is *contracted*: its predecessors gain its successors (plain edges, join membership and its
conditional branches); branches that may route to it are remapped to its successors. Anything that cannot be
re-wired without changing the meaning of the graph raises :class:`RewireError` instead of guessing. A *detached*
node (an agent entered only through ``Command(goto=...)`` hand-offs or a conditional edge, see
``langgraph_handoff``) is dropped instead, and removed from the other nodes' ``destinations``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda
from langgraph.constants import END, START
from langgraph.graph import StateGraph
from langgraph.types import Send
from router_plugins.adapters.langgraph._compat import add_schema, node_defaults, set_node_defaults
from router_plugins.adapters.langgraph._reach import reachable, send_targets, unreachable

from router_plugins.errors import RouterError

log = logging.getLogger("router_plugins")

#: Name of the node LangGraph adds at compile time for ``set_node_defaults(error_handler=...)``.
DEFAULT_ERROR_HANDLER = "__default_error_handler__"

Join = tuple[tuple[str, ...], str]


class RewireError(RouterError):
    """A node cannot be pruned without changing what the rest of the graph does; the message says why."""


@dataclass(frozen=True)
class GraphTemplate:
    """A frozen snapshot of a builder's structure; variants are built from it, never from the user's builder."""

    state_schema: Any
    context_schema: Any
    input_schema: Any
    output_schema: Any
    nodes: Mapping[str, Any]  # name -> StateNodeSpec (private copies)
    edges: frozenset[tuple[str, str]]
    joins: frozenset[Join]
    branches: Mapping[str, Mapping[str, Any]]  # source -> name -> BranchSpec
    node_defaults: Any = None

    @property
    def node_names(self) -> tuple[str, ...]:
        """User nodes in insertion order (error-handler nodes excluded)."""
        return tuple(n for n, s in self.nodes.items() if not s.is_error_handler)

    def spec(self, node: str) -> Any:
        """The node spec of a user node."""
        return self.nodes[node]


def snapshot(builder: StateGraph) -> GraphTemplate:
    """Copy the structure of a builder (node specs are copied: ``compile()`` writes defaults into them)."""
    nodes: dict[str, Any] = {}
    for name, spec in builder.nodes.items():
        if name == DEFAULT_ERROR_HANDLER:
            continue  # re-created from the node defaults by every compile()
        handler = None if spec.error_handler_node == DEFAULT_ERROR_HANDLER else spec.error_handler_node
        nodes[name] = replace(spec, error_handler_node=handler)
    return GraphTemplate(
        state_schema=builder.state_schema,
        context_schema=builder.context_schema,
        input_schema=builder.input_schema,
        output_schema=builder.output_schema,
        nodes=nodes,
        edges=frozenset(builder.edges),
        joins=frozenset((tuple(starts), end) for starts, end in builder.waiting_edges),
        branches={src: dict(bs) for src, bs in builder.branches.items() if bs},
        node_defaults=node_defaults(builder),
    )


@dataclass
class _Wiring:
    """Mutable edge sets while nodes are contracted one by one."""

    edges: set[tuple[str, str]]
    joins: set[Join]
    branches: dict[str, dict[str, Any]]
    resolved: dict[str, tuple[str, ...]] = field(default_factory=dict)  # pruned node -> what it now leads to
    sends: Mapping[str, str] = field(default_factory=dict)  # node -> why it may receive Send fan-out

    def resolve(self, dest: str, seen: frozenset[str] = frozenset()) -> tuple[str, ...]:
        """Where a destination leads once pruned nodes are skipped."""
        if dest not in self.resolved:
            return (dest,)
        if dest in seen:
            raise RewireError(f"pruning leaves a cycle of pruned nodes through {dest!r} with no way out")
        out: list[str] = []
        for d in self.resolved[dest]:
            for r in self.resolve(d, seen | {dest}):
                if r not in out:
                    out.append(r)
        return tuple(out)

    def branch_may_reach(self, branch: Any, node: str) -> bool:
        """True when a branch may route to ``node`` (always, when its destinations are unknown)."""
        if branch.ends is None:
            return True
        return any(node in self.resolve(d) for d in branch.ends.values())


def _contract(w: _Wiring, node: str, template: GraphTemplate) -> None:
    preds = {s for s, d in w.edges if d == node}
    succs = sorted(d for s, d in w.edges if s == node)
    out_branches = w.branches.pop(node, {})
    joins_in = [j for j in w.joins if j[1] == node]
    joins_out = [j for j in w.joins if node in j[0]]
    branch_in = [src for src, bs in w.branches.items() for b in bs.values() if w.branch_may_reach(b, node)]
    spec = template.spec(node)
    if spec.ends:
        raise RewireError(
            f"node {node!r} routes with Command(goto=...) to {list(spec.ends)}: its successors are not static edges"
        )
    targeted = [n for n, s in template.nodes.items() if n != node and s.ends and node in s.ends]
    if targeted:
        raise RewireError(f"node {node!r} is a Command(goto=...) target of {targeted}")
    if node in w.sends:
        raise RewireError(f"node {node!r} cannot be skipped: {w.sends[node]}")
    if not succs and not out_branches and not joins_out:
        raise RewireError(
            f"node {node!r} has no static successor edge (it may route with Command(goto=...)), so skipping it "
            "could silently end the run"
        )
    if (branch_in or joins_in) and (out_branches or joins_out):
        how = "a conditional edge" if branch_in else "a join"
        what = "leaves through a conditional edge" if out_branches else "starts a join"
        raise RewireError(f"node {node!r} is reached by {how} and {what}: no static edge can replace it")
    if joins_in and not succs:
        raise RewireError(f"node {node!r} ends a join but has no plain successor edge")

    w.edges = {(s, d) for s, d in w.edges if node not in (s, d)}
    for s in preds:
        w.edges.update((s, d) for d in succs)
        for name, branch in out_branches.items():
            if branch.input_schema is None:  # keep reading the state the way the pruned node's branch did
                branch = branch._replace(input_schema=spec.input_schema)
            taken = w.branches.setdefault(s, {})
            key = name if name not in taken else f"{name}__via_{node}"
            taken[key] = branch
    new_joins: set[Join] = set()
    for starts, end in w.joins:
        if end == node:
            new_joins.update((starts, d) for d in succs)
        elif node in starts:
            merged = [x for x in starts if x != node] + sorted(p for p in preds if p not in starts)
            new_joins.add((tuple(merged), end))
        else:
            new_joins.add((starts, end))
    w.joins = new_joins
    w.resolved[node] = tuple(succs)


def _detach(w: _Wiring, node: str) -> None:
    """Drop a node that is entered only by Command(goto=...) or conditional edges; its own exits go with it."""
    if node in w.sends:
        raise RewireError(f"node {node!r} cannot be dropped: {w.sends[node]}")
    into = sorted(s for s, d in w.edges if d == node)
    if into:
        raise RewireError(f"node {node!r} is reached by static edges from {into}: it is not only a hand-off target")
    if any(node in starts or end == node for starts, end in w.joins):
        raise RewireError(f"node {node!r} is part of a join")
    unknown = [src for src, bs in w.branches.items() for b in bs.values() if b.ends is None]
    if unknown:
        raise RewireError(f"conditional edges from {unknown} have unknown destinations and might route to {node!r}")
    w.edges = {(s, d) for s, d in w.edges if s != node}
    w.branches.pop(node, None)
    w.resolved[node] = ()


def _branch_resolver(w: _Wiring, branch: Any, src: str, detached: set[str]) -> Callable[[str], tuple[str, ...]]:
    """Resolve a branch's destinations; a detached one is replaced by the branch's first kept destination."""
    if branch.ends is None or not detached & {d for d in branch.ends.values()}:
        return w.resolve
    kept = sorted((r for d in branch.ends.values() for r in w.resolve(d)), key=lambda r: r == END)  # agents first
    if not kept:
        raise RewireError(f"every destination of the conditional edge from {src!r} is pruned")

    def resolve(dest: str) -> tuple[str, ...]:
        out = w.resolve(dest)
        return out if out or dest not in detached else (kept[0],)

    return resolve


def _normalise_joins(w: _Wiring) -> None:
    """START inside a join has always happened; a join left with one start is a plain edge."""
    joins: set[Join] = set()
    for starts, end in w.joins:
        kept = tuple(dict.fromkeys(s for s in starts if s != START))
        if len(kept) <= 1:
            w.edges.add((kept[0] if kept else START, end))
        else:
            joins.add((kept, end))
    w.joins = joins


def _remapped_branch(branch: Any, resolve: Callable[[str], tuple[str, ...]]) -> Any:
    """A branch whose path result is mapped through the original path map and then past pruned nodes."""
    ends = branch.ends
    path: Runnable = branch.path

    def remap(result: Any) -> list[Any]:
        items = list(result) if isinstance(result, (list, tuple)) else [result]
        out: list[Any] = []
        for item in items:
            if isinstance(item, Send):
                targets = resolve(item.node)
                if targets == (item.node,):
                    out.append(item)
                    continue
                # a fan-out the router could not see in the branch's code: run what the pruned node led to instead,
                # so no kept node after it is stranded (its successors run once, on the graph state)
                log.warning("router_plugins: Send(%r, ...) goes to a pruned node; running its successors %s instead",
                            item.node, list(targets))
                dest = item.node
            else:
                dest = ends[item] if ends is not None else item
            for d in resolve(dest):
                if d not in out:
                    out.append(d)
        return out

    def route(value: Any, config: Any) -> list[Any]:
        return remap(path.invoke(value, config))

    async def aroute(value: Any, config: Any) -> list[Any]:
        return remap(await path.ainvoke(value, config))

    new_ends: dict[Hashable, str] | None = None
    if ends is not None:
        new_ends = {d: d for dest in ends.values() for d in resolve(dest)}
    return branch._replace(path=RunnableLambda(route, afunc=aroute, name=path.name), ends=new_ends)


def rewire(template: GraphTemplate, prune: Iterable[str], detached: Iterable[str] = ()) -> _Wiring:
    """Edges, joins and branches of the template once the ``prune`` nodes are contracted (RewireError if unsafe).

    Pruned nodes also in ``detached`` are dropped without contraction (hand-off targets; see ``_detach``).
    """
    prune = list(dict.fromkeys(prune))
    detached = set(detached) & set(prune)
    w = _Wiring(
        edges=set(template.edges),
        joins=set(template.joins),
        branches={src: dict(bs) for src, bs in template.branches.items()},
        sends=send_targets(template.branches, template.node_names),
    )
    for node in prune:
        if node in (START, END):
            raise RewireError(f"{node!r} can never be pruned")
        if node not in template.nodes or template.spec(node).is_error_handler:
            raise RewireError(f"no node named {node!r} in the graph (nodes: {list(template.node_names)})")
        if node in detached:
            _detach(w, node)
        else:
            _contract(w, node, template)
    _normalise_joins(w)
    if prune:
        for src, bs in w.branches.items():
            for name, b in list(bs.items()):
                if b.ends is None or any(d in w.resolved for d in b.ends.values()):
                    bs[name] = _remapped_branch(b, _branch_resolver(w, b, src, detached))
        _check_reachable(template, w, prune)
    return w


def _check_reachable(template: GraphTemplate, w: _Wiring, prune: Iterable[str]) -> None:
    """RewireError when the rewrite leaves a kept node that START reached before unreachable."""
    dropped = set(prune) | {h for n in prune if (h := template.spec(n).error_handler_node)}
    kept = [n for n in template.node_names if n not in dropped]
    gotos = {n: _ends(s.ends) for n, s in template.nodes.items() if s.ends}
    before = reachable(template.node_names, template.edges, template.joins, template.branches, gotos)
    after = reachable(kept, w.edges, w.joins, w.branches,
                      {n: [d for d in e if d not in dropped] for n, e in gotos.items() if n not in dropped})
    lost = unreachable(before, after, dropped)
    if lost:
        raise RewireError(f"pruning {sorted(set(prune))} would leave the kept node(s) {lost} unreachable from START")


def build_variant(
    template: GraphTemplate,
    prune: Iterable[str] = (),
    cls: type[StateGraph] = StateGraph,
    *,
    detached: Iterable[str] = (),
    runnables: Mapping[str, Any] | None = None,
) -> StateGraph:
    """A new builder of class ``cls`` with the template's structure minus the ``prune`` nodes.

    ``detached``: pruned hand-off targets (dropped, and removed from other nodes' destinations); ``runnables``:
    replacement runnables for kept nodes (e.g. subgraphs whose hand-off tools to pruned agents are removed).
    """
    prune = tuple(prune)
    w = rewire(template, prune, detached)
    dropped = set(prune)
    for node in prune:
        handler = template.spec(node).error_handler_node
        if handler:
            dropped.add(handler)
    g = cls(
        template.state_schema,
        template.context_schema,
        input_schema=template.input_schema,
        output_schema=template.output_schema,
    )
    for name, spec in template.nodes.items():
        if name in dropped:
            continue
        changes: dict[str, Any] = {}
        if spec.ends and dropped & set(_ends(spec.ends)):
            changes["ends"] = _without(spec.ends, dropped)
        if runnables and name in runnables:
            changes["runnable"] = runnables[name]
        g.nodes[name] = replace(spec, **changes)
        add_schema(g, spec.input_schema)
    g.edges = set(w.edges)
    g.waiting_edges = set(w.joins)
    g.branches = defaultdict(dict, {src: dict(bs) for src, bs in w.branches.items() if src not in dropped})
    for bs in g.branches.values():
        for b in bs.values():
            if b.input_schema is not None:
                add_schema(g, b.input_schema)
    if template.node_defaults is not None:
        set_node_defaults(g, template.node_defaults)
    return g


def _ends(ends: Any) -> tuple[str, ...]:
    return tuple(ends.values()) if isinstance(ends, Mapping) else tuple(ends or ())


def _without(ends: Any, dropped: set[str]) -> Any:
    if isinstance(ends, Mapping):
        return {k: v for k, v in ends.items() if v not in dropped}
    return tuple(e for e in ends if e not in dropped)


def prune_blockers(template: GraphTemplate, nodes: Iterable[str], detached: Iterable[str] = ()) -> dict[str, str]:
    """Why each of ``nodes`` cannot be pruned on its own (absent when it can); ``detached`` ones are hand-off
    targets checked as such (``Command(goto)`` targets not listed there stay blocked, the safe default)."""
    detached = set(detached)
    blockers = {}
    for node in nodes:
        try:
            rewire(template, [node], [node] if node in detached else ())
        except RewireError as exc:
            blockers[node] = str(exc)
    return blockers
