"""Property: pruning never makes a kept node unreachable (issue 12.1), over random graphs with plain and
conditional edges, ``Send`` fan-out (visible to the router or built in a helper), joins and subgraph nodes.

Each random graph is a DAG whose nodes record that they ran; branches return a fixed choice, so the full graph and
every variant the rewiring accepts can be run and compared: every kept node that ran in the full graph runs in the
variant. A ``RewireError`` is allowed (the planner then keeps those nodes required); a stranded node is not.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from router_plugins.adapters.langgraph._rewire import RewireError, build_variant, snapshot


class S(TypedDict, total=False):
    ran: Annotated[list[str], operator.add]


def _recorder(name: str) -> Any:
    def node(state: Any) -> dict[str, Any]:
        return {"ran": [name]}

    return node


def _subgraph(name: str) -> Any:
    inner = StateGraph(S)
    inner.add_node("inner", _recorder(name))
    inner.add_edge(START, "inner")
    inner.add_edge("inner", END)
    return inner.compile()


def _to_sends(names: list[str]) -> list[Any]:
    return [Send(n, {"ran": []}) for n in names]


def _branch(routes: list[str], sends: list[str], visible: bool) -> Any:
    """A path function returning fixed routes and Sends; ``visible``: it builds the Sends itself (else in a helper)."""
    if visible:
        def path(state: Any) -> list[Any]:
            return [*routes, *[Send(n, {"ran": []}) for n in sends]]
    else:
        def path(state: Any) -> list[Any]:
            return [*routes, *_to_sends(sends)]
    return path


@dataclass
class Spec:
    n: int
    subgraphs: list[bool]
    exits: list[tuple[str, list[str], list[str], list[str], bool]]  # kind, targets, routes, sends, visible Send
    join: tuple[int, int, int] | None
    prune: list[str]


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    n = draw(st.integers(2, 6))
    names = [f"n{i}" for i in range(n)]
    exits = []
    for i in range(n):
        later = [*names[i + 1:], END]
        targets = draw(st.lists(st.sampled_from(later), min_size=1, max_size=3, unique=True))
        kind = draw(st.sampled_from(["edges", "branch"]))
        routes, sends, visible = list(targets), [], True
        if kind == "branch":
            nodes = [t for t in targets if t != END]
            sends = draw(st.lists(st.sampled_from(nodes), unique=True)) if nodes else []
            routes = draw(st.lists(st.sampled_from(targets), unique=True, min_size=0 if sends else 1))
            visible = draw(st.booleans())
        exits.append((kind, targets, routes, sends, visible))
    join = None
    if n >= 3 and draw(st.booleans()):
        a, b = sorted(draw(st.lists(st.integers(0, n - 2), min_size=2, max_size=2, unique=True)))
        join = (a, b, draw(st.integers(b + 1, n - 1)))
    prune = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=n - 1))
    return Spec(n, draw(st.lists(st.booleans(), min_size=n, max_size=n)), exits, join, prune)


def build(spec: Spec) -> StateGraph:
    g = StateGraph(S)
    names = [f"n{i}" for i in range(spec.n)]
    for name, sub in zip(names, spec.subgraphs):
        g.add_node(name, _subgraph(name) if sub else _recorder(name))
    g.add_edge(START, names[0])
    for name, (kind, targets, routes, sends, visible) in zip(names, spec.exits):
        if kind == "edges":
            for t in targets:
                g.add_edge(name, t)
        else:
            g.add_conditional_edges(name, _branch(routes, sends, visible), targets)
    if spec.join:
        a, b, end = spec.join
        g.add_edge([names[a], names[b]], names[end])
    return g


def ran(graph: Any) -> set[str]:
    return set(graph.invoke({"ran": []})["ran"])


def _map_reduce(visible: bool) -> Spec:
    """Issue 12.1's shape: n0 fans out with Send to n1 only, n1 → n2 → END; n1 pruned."""
    exits = [("branch", ["n1"], [], ["n1"], visible), ("edges", ["n2"], ["n2"], [], True),
             ("edges", [END], [END], [], True)]
    return Spec(3, [False, False, False], exits, None, ["n1"])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
@example(_map_reduce(visible=True))
@example(_map_reduce(visible=False))
def test_pruning_never_strands_a_kept_node(spec: Spec) -> None:
    template = snapshot(build(spec))
    full = ran(build(spec).compile())
    try:
        variant = build_variant(template, spec.prune).compile()
    except RewireError:
        return  # these nodes stay required: allowed
    kept_that_ran = full - set(spec.prune)
    got = ran(variant)
    assert kept_that_ran <= got, f"stranded {sorted(kept_that_ran - got)} when pruning {spec.prune}: {spec}"
    assert not got & set(spec.prune), f"pruned nodes ran: {sorted(got & set(spec.prune))}"
