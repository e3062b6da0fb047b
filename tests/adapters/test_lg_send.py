"""``Send`` fan-out and pruning: a pruned node never makes a required node unreachable (issue 12.1)."""

from __future__ import annotations

import json
import logging
import operator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from router_plugins.adapters.langgraph import routed
from router_plugins.adapters.langgraph._rewire import RewireError, build_variant, prune_blockers, snapshot

from router_plugins.router import Router


class Jokes(TypedDict, total=False):
    topic: str
    subjects: list[str]
    jokes: Annotated[list[str], operator.add]
    ran: Annotated[list[str], operator.add]
    best: str


def generate_topics(state: Jokes) -> dict[str, Any]:
    return {"subjects": ["cats", "dogs"], "ran": ["generate_topics"]}


def continue_to_jokes(state: Jokes) -> list[Send]:
    return [Send("generate_joke", {"subject": s}) for s in state["subjects"]]


def _sends(state: Jokes) -> list[Any]:
    return [Send("generate_joke", {"subject": s}) for s in state["subjects"]]


def hidden_fan_out(state: Jokes) -> list[Any]:
    """Builds its Sends in a helper, so the router cannot see them in this function's code."""
    return _sends(state)


def generate_joke(state: dict[str, Any]) -> dict[str, Any]:
    return {"jokes": [f"a joke about {state['subject']}"], "ran": ["generate_joke"]}


def best_joke(state: Jokes) -> dict[str, Any]:
    return {"best": (state.get("jokes") or ["none"])[0], "ran": ["best_joke"]}


def joke_graph(fan_out: Any = continue_to_jokes) -> StateGraph:
    """LangGraph's map-reduce how-to, with router metadata (the joker is optional)."""
    g = StateGraph(Jokes)
    g.add_node("generate_topics", generate_topics, metadata={"router": {"role": "planner"}})
    g.add_node("generate_joke", generate_joke, metadata={"router": {"role": "joker", "optional": True}})
    g.add_node("best_joke", best_joke, metadata={"router": {"role": "judge"}})
    g.add_edge(START, "generate_topics")
    g.add_conditional_edges("generate_topics", fan_out, ["generate_joke"])
    g.add_edge("generate_joke", "best_joke")
    g.add_edge("best_joke", END)
    return g


def test_send_target_is_kept_required_and_the_judge_runs(router: Router) -> None:
    graph = routed(joke_graph(), router=router, query=lambda s: s["topic"]).compile()
    out = graph.invoke({"topic": "animals prune=joker"})
    assert "best_joke" in out["ran"], out["ran"]
    assert out["ran"].count("generate_joke") == 2
    plan = graph.plan_for({"topic": "animals prune=joker"})
    assert plan.model_for("joker") is not None  # kept: the planner cannot prune a Send target
    meta = graph.routing._run_config(plan, (), None)["metadata"]
    assert "Send" in json.loads(meta["router_kept_required"])["generate_joke"]


def test_send_target_is_a_prune_blocker() -> None:
    why = prune_blockers(snapshot(joke_graph()), ["generate_joke"])
    assert "Send" in why["generate_joke"] and "generate_topics" in why["generate_joke"]


def test_hidden_sends_to_a_pruned_node_are_rewired_to_its_successors(caplog: pytest.LogCaptureFixture) -> None:
    """A fan-out the router cannot see is re-wired at run time: the pruned node's successors run instead."""
    variant = build_variant(snapshot(joke_graph(hidden_fan_out)), ["generate_joke"]).compile()
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        out = variant.invoke({"topic": "animals"})
    assert out["ran"] == ["generate_topics", "best_joke"]
    assert "Send('generate_joke'" in caplog.text and "best_joke" in caplog.text


def test_a_rewrite_that_strands_a_kept_node_raises() -> None:
    """A hand-off target dropped without contraction takes its exits along: a node only it reaches is stranded."""
    g = StateGraph(Jokes)
    g.add_node("a", generate_topics, destinations=("b",))
    g.add_node("b", best_joke)
    g.add_node("c", best_joke)
    g.add_edge(START, "a")
    g.add_edge("b", "c")
    g.add_edge("c", END)
    with pytest.raises(RewireError, match=r"unreachable.*'c'|'c'.*unreachable"):
        build_variant(snapshot(g), ["b"], detached=["b"])
