"""Checkpointers, interrupts and resume: a resumed thread keeps the plan it started with."""

from __future__ import annotations

import asyncio
import json
import operator
import sqlite3
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from router_plugins.adapters.langgraph import routed, routed_model
from router_plugins.router import Router


class S(TypedDict, total=False):
    question: str
    calls: Annotated[list[tuple[str, str]], operator.add]
    approved: str


def worker(name: str) -> Any:
    def node(state: S, config: RunnableConfig) -> dict[str, Any]:
        return {"calls": [(name, routed_model(config).invoke(state["question"]).content)]}

    return node


def ask(state: S, config: RunnableConfig) -> dict[str, Any]:
    answer = interrupt({"question": "approve?"})
    return {"approved": answer, "calls": [("solver", routed_model(config).invoke("x").content)]}


def graph() -> StateGraph:
    g = StateGraph(S)
    g.add_node("planner", worker("planner"), metadata={"router": {}})
    g.add_node("solver", ask, metadata={"router": {}})
    g.add_node("critic", worker("critic"), metadata={"router": {"optional": True}})
    g.add_node("agg", worker("agg"), metadata={"router": {}})
    g.add_edge(START, "planner")
    g.add_edge("planner", "solver")
    g.add_edge("solver", "critic")
    g.add_edge("critic", "agg")
    g.add_edge("agg", END)
    return g


def test_interrupt_and_resume_keep_the_plan_with_sqlite(router: Router, tmp_path: Any) -> None:
    conn = sqlite3.connect(str(tmp_path / "ckpt.sqlite"), check_same_thread=False)
    app = routed(graph(), router=router).compile(checkpointer=SqliteSaver(conn))
    cfg = {"configurable": {"thread_id": "t1"}}
    first = app.invoke({"question": "q prune=critic model=big"}, cfg)
    assert "__interrupt__" in first and first["calls"] == [("planner", "big says hi")]
    state = app.get_state(cfg)
    assert state.next == ("solver",)
    stored = json.loads(state.metadata["router_plan"])
    assert {r["role"]: r["model"] for r in stored["roles"]}["critic"] is None

    # a fresh graph object (e.g. after a process restart) resumes the same thread with the stored plan
    conn2 = sqlite3.connect(str(tmp_path / "ckpt.sqlite"), check_same_thread=False)
    app2 = routed(graph(), router=router).compile(checkpointer=SqliteSaver(conn2))
    out = app2.invoke(Command(resume="yes"), cfg)
    assert out["approved"] == "yes"
    assert [tuple(c) for c in out["calls"]] == [("planner", "big says hi"), ("solver", "big says hi"), ("agg", "big says hi")]
    assert json.loads(app2.get_state(cfg).metadata["router_plan"])["signature"] == stored["signature"]

    # a new input on the same thread is planned anew
    out = app2.invoke({"question": "q2 model=small"}, {"configurable": {"thread_id": "t2"}})
    assert out["calls"] == [("planner", "small says hi")]


def test_interrupt_before_a_pruned_node_is_dropped_and_resume_with_none(router: Router) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    app = routed(graph(), router=router).compile(checkpointer=InMemorySaver(), interrupt_before=["critic", "agg"])
    cfg = {"configurable": {"thread_id": "x"}}
    app.invoke({"question": "q prune=critic model=big"}, cfg)
    app.invoke(Command(resume="ok"), cfg)
    assert app.get_state(cfg).next == ("agg",)
    out = app.invoke(None, cfg)
    assert [c for c, _ in out["calls"]] == ["planner", "solver", "agg"] and out["calls"][-1][1] == "big says hi"


def test_async_sqlite_resume(router: Router, tmp_path: Any) -> None:
    aio = pytest.importorskip("langgraph.checkpoint.sqlite.aio")

    async def main() -> Any:
        async with aio.AsyncSqliteSaver.from_conn_string(str(tmp_path / "a.sqlite")) as saver:
            app = routed(graph(), router=router).compile(checkpointer=saver)
            cfg = {"configurable": {"thread_id": "a"}}
            await app.ainvoke({"question": "q prune=critic model=big"}, cfg)
            chunks = [c async for c in app.astream(Command(resume="fine"), cfg, stream_mode="updates")]
            return chunks

    chunks = asyncio.run(main())
    assert [next(iter(c)) for c in chunks] == ["solver", "agg"]
    assert [tuple(c) for c in chunks[-1]["agg"]["calls"]] == [("agg", "big says hi")]


def test_resume_without_a_stored_plan_falls_back(router: Router) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    app = routed(graph(), router=router).compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "u"}}
    app.update_state(cfg, {"question": "q model=big", "calls": []}, as_node="planner")  # no plan stored
    app.invoke(None, cfg)  # runs to the solver's interrupt
    out = app.invoke(Command(resume="ok"), cfg)
    assert [c for c, _ in out["calls"]] == ["solver", "critic", "agg"]  # unrouted: nothing pruned
    assert all(m == "small says hi" for _, m in out["calls"])  # the router's default model
    meta = app.get_state(cfg).metadata
    assert meta["router_fallback"] is True and "no stored plan" in meta["router_fallback_reason"]
