"""Pruning rewires a graph exactly like a hand-built graph without the pruned nodes (branches, joins, loops)."""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import CachePolicy, Command, RetryPolicy

from router_plugins.adapters.langgraph import routed
from router_plugins.adapters.langgraph._rewire import RewireError, build_variant, prune_blockers, snapshot


class S(TypedDict, total=False):
    question: str
    trace: Annotated[list[str], operator.add]
    n: int


def step(name: str, *, count: bool = False) -> Any:
    def node(state: S) -> dict[str, Any]:
        out: dict[str, Any] = {"trace": [name]}
        if count:
            out["n"] = state.get("n", 0) + 1
        return out

    node.__name__ = name
    return node


OPT = {"router": {"optional": True}}
REQ = {"router": {}}


def run(graph: Any, question: str) -> dict[str, Any]:
    return graph.invoke({"question": question, "trace": [], "n": 0})


def same_run(routed_graph: Any, hand: StateGraph, question: str) -> None:
    got = run(routed_graph, question)
    want = run(hand.compile(), question)
    assert got == want, f"routed {got['trace']} != hand-built {want['trace']}"


# -- chain + conditional loop with a path map --------------------------------------------------------------------
def again(state: S) -> str:
    return "again" if state["n"] < 2 else "done"


def loop_graph(prune: set[str] = frozenset(), meta: bool = True) -> StateGraph:
    g = StateGraph(S)
    for name in ("a", "b", "c", "d"):
        if name in prune:
            continue
        md = (OPT if name in ("b", "d") else REQ) if meta else None
        g.add_node(name, step(name, count=name == "c"), metadata=md)
    g.add_edge(START, "a")
    g.add_edge("a", "b" if "b" not in prune else "c")
    if "b" not in prune:
        g.add_edge("b", "c")
    g.add_conditional_edges("c", again, {"again": "a", "done": "d" if "d" not in prune else END})
    if "d" not in prune:
        g.add_edge("d", END)
    return g


@pytest.mark.parametrize("prune", [set(), {"b"}, {"d"}, {"b", "d"}])
def test_loop_with_path_map(router: Any, prune: set[str]) -> None:
    graph = routed(loop_graph(), router=router, query=lambda s: s["question"]).compile()
    same_run(graph, loop_graph(prune, meta=False), f"q prune={','.join(sorted(prune)) or 'none'}")


# -- fan-out and join -------------------------------------------------------------------------------------------------
def join_graph(prune: set[str] = frozenset()) -> StateGraph:
    g = StateGraph(S)
    g.add_node("a", step("a"), metadata=REQ)
    if "b" not in prune:
        g.add_node("b", step("b"), metadata=OPT)
    g.add_node("c", step("c"))
    g.add_node("d", step("d"))
    g.add_edge(START, "a")
    g.add_edge("a", "c")
    if "b" not in prune:
        g.add_edge("a", "b")
        g.add_edge(["b", "c"], "d")
    else:
        g.add_edge("c", "d")
    g.add_edge("d", END)
    return g


@pytest.mark.parametrize("prune", [set(), {"b"}])
def test_join_keeps_waiting_for_the_rest(router: Any, prune: set[str]) -> None:
    graph = routed(join_graph(), router=router).compile()
    same_run(graph, join_graph(prune), f"q prune={','.join(prune) or 'none'}")


def test_join_end_pruned_and_chain_of_pruned_nodes(router: Any) -> None:
    g = StateGraph(S)
    for n in ("a", "b", "c", "d"):
        g.add_node(n, step(n), metadata=OPT if n in ("c", "d") else REQ)
    g.add_node("e", step("e"))
    g.add_edge(START, "a")
    g.add_edge(START, "b")
    g.add_edge(["a", "b"], "c")
    g.add_edge("c", "d")
    g.add_edge("d", "e")
    g.add_edge("e", END)
    hand = StateGraph(S)
    for n in ("a", "b", "e"):
        hand.add_node(n, step(n))
    hand.add_edge(START, "a")
    hand.add_edge(START, "b")
    hand.add_edge(["a", "b"], "e")
    hand.add_edge("e", END)
    same_run(routed(g, router=router).compile(), hand, "q prune=c,d")


# -- conditional edge without a path map into a pruned node that fans out ------------------------------------------
def pick(state: S) -> str:
    return "b" if "left" in state["question"] else "e"


def fan_graph() -> StateGraph:
    g = StateGraph(S)
    for n in ("a", "b", "c", "d", "e"):
        g.add_node(n, step(n), metadata=OPT if n == "b" else REQ)
    g.add_edge(START, "a")
    g.add_conditional_edges("a", pick)
    g.add_edge("b", "c")
    g.add_edge("b", "d")
    for n in ("c", "d", "e"):
        g.add_edge(n, END)
    return g


def fan_hand() -> StateGraph:
    g = StateGraph(S)
    for n in ("a", "c", "d", "e"):
        g.add_node(n, step(n))
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: ["c", "d"] if "left" in s["question"] else "e")
    for n in ("c", "d", "e"):
        g.add_edge(n, END)
    return g


@pytest.mark.parametrize("side", ["left", "right"])
def test_branch_without_path_map_is_remapped(router: Any, side: str) -> None:
    same_run(routed(fan_graph(), router=router).compile(), fan_hand(), f"{side} prune=b")


def test_pruned_node_hands_its_branch_to_its_predecessor(router: Any) -> None:
    def where(state: S) -> Literal["c", "d"]:
        return "c" if "left" in state["question"] else "d"

    g = StateGraph(S)
    for n in ("a", "b", "c", "d"):
        g.add_node(n, step(n), metadata=OPT if n == "b" else REQ)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_conditional_edges("b", where)
    g.add_edge("c", END)
    g.add_edge("d", END)
    hand = StateGraph(S)
    for n in ("a", "c", "d"):
        hand.add_node(n, step(n))
    hand.add_edge(START, "a")
    hand.add_conditional_edges("a", where)
    hand.add_edge("c", END)
    hand.add_edge("d", END)
    graph = routed(g, router=router).compile()
    for side in ("left", "right"):
        same_run(graph, hand, f"{side} prune=b")
    assert "b" not in graph.routing.variant(graph, ["b"]).get_graph().nodes


# -- what cannot be pruned ------------------------------------------------------------------------------------------
def test_command_goto_node_is_kept_and_says_why(router: Any) -> None:
    def b(state: S) -> Command[Literal["c"]]:
        return Command(goto="c", update={"trace": ["b"]})

    g = StateGraph(S)
    g.add_node("a", step("a"), metadata=REQ)
    g.add_node("b", b, metadata=OPT)
    g.add_node("c", step("c"), metadata=OPT)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("c", END)
    graph = routed(g, router=router).compile()
    roles = {r.name: r.optional for r in graph.routing.roles}
    assert roles == {"a": False, "b": False, "c": False}
    reasons = graph.routing.forced_required
    assert "Command(goto" in reasons["b"] and "Command(goto" in reasons["c"]
    seen: list[Any] = []

    def spy(state: S, config: RunnableConfig) -> dict[str, Any]:
        seen.append(json.loads(config["metadata"]["router_kept_required"]))
        return {"trace": ["a"]}

    g2 = StateGraph(S)
    g2.add_node("a", spy, metadata=REQ)
    g2.add_node("b", b, metadata=OPT)
    g2.add_node("c", step("c"))
    g2.add_edge(START, "a")
    g2.add_edge("a", "b")
    g2.add_edge("c", END)
    out = routed(g2, router=router).compile().invoke({"question": "q prune=b", "trace": []})
    assert out["trace"] == ["a", "b", "c"]
    assert "b" in seen[0]


def test_start_end_and_unknown_nodes_cannot_be_pruned() -> None:
    t = snapshot(loop_graph())
    for bad in (START, END, "nope"):
        with pytest.raises(RewireError):
            build_variant(t, [bad])
    assert prune_blockers(t, ["b", "d"]) == {}


def test_branch_into_a_node_that_branches_is_refused() -> None:
    g = StateGraph(S)
    for n in ("a", "b", "c"):
        g.add_node(n, step(n))
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "b", ["b", "c"])
    g.add_conditional_edges("b", lambda s: "c", ["c"])
    g.add_edge("c", END)
    with pytest.raises(RewireError, match="conditional edge"):
        build_variant(snapshot(g), ["b"])


# -- what a variant preserves ---------------------------------------------------------------------------------------
@dataclass
class Ctx:
    tag: str


class In(TypedDict):
    question: str


class Out(TypedDict):
    trace: list[str]


def test_policies_handlers_metadata_and_schemas_survive(router: Any) -> None:
    calls = {"flaky": 0}

    def flaky(state: S) -> dict[str, Any]:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise ValueError("first try fails")
        return {"trace": ["flaky"]}

    def broken(state: S) -> dict[str, Any]:
        raise RuntimeError("always")

    def handler(state: S) -> dict[str, Any]:
        return {"trace": ["handled"]}

    def uses_ctx(state: S, runtime: Any) -> dict[str, Any]:
        return {"trace": [f"ctx={runtime.context.tag}"]}

    g = StateGraph(S, context_schema=Ctx, input_schema=In, output_schema=Out)
    g.add_node("flaky", flaky, retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False, retry_on=ValueError),
               metadata={"router": {}, "owner": "me"})
    g.add_node("skip", step("skip"), metadata=OPT)
    g.add_node("broken", broken, error_handler=handler)
    g.add_node("ctx", uses_ctx, cache_policy=CachePolicy())
    g.add_edge(START, "flaky")
    g.add_edge("flaky", "skip")
    g.add_edge("skip", "broken")
    g.add_edge("broken", "ctx")
    g.add_edge("ctx", END)
    before = {n: (s.retry_policy, s.metadata) for n, s in g.nodes.items()}
    graph = routed(g, router=router).compile()
    out = graph.invoke({"question": "q prune=skip"}, context=Ctx(tag="T"))
    assert out == {"trace": ["flaky", "handled"]}  # output schema applied, retry + handler ran
    calls["flaky"] = 0
    assert graph.invoke({"question": "q"}, context=Ctx(tag="T")) == g.compile().invoke(
        {"question": "q"}, context=Ctx(tag="T")) | {"trace": ["flaky", "skip", "handled"]}
    variant = graph.routing.variant(graph, ["skip"])
    spec = variant.builder.nodes["flaky"]
    assert spec.metadata["owner"] == "me" and spec.retry_policy is not None
    assert variant.builder.nodes["ctx"].cache_policy is not None
    assert variant.builder.context_schema is Ctx and variant.builder.input_schema is In
    assert {n: (s.retry_policy, s.metadata) for n, s in g.nodes.items()} == before  # user's builder untouched
    assert "skip" in g.nodes


def test_node_defaults_are_kept(router: Any) -> None:
    seen: list[str] = []

    def broken(state: S) -> dict[str, Any]:
        raise RuntimeError("x")

    def fallback(state: S) -> dict[str, Any]:
        seen.append("default handler")
        return {"trace": ["fallback"]}

    g = StateGraph(S).set_node_defaults(error_handler=fallback)
    g.add_node("a", broken, metadata=REQ)
    g.add_node("b", step("b"), metadata=OPT)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", END)
    graph = routed(g, router=router).compile()
    assert graph.invoke({"question": "q prune=b", "trace": []})["trace"] == ["fallback"]
    assert graph.invoke({"question": "q", "trace": []}) == g.compile().invoke({"question": "q", "trace": []})
    assert seen == ["default handler"] * 3
