"""Prebuilt multi-agent graphs (create_supervisor, create_swarm) routed through RoutedChatModel proxies."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from examples_loader import load_example
from lg_fakes import Directives, ScriptedChat, ScriptedModels
from router_plugins import ModelCard, hookimpl
from router_plugins.adapters.langgraph import RoutedChatModel, routed
from router_plugins.router import Router

supervisor_mod = pytest.importorskip("langgraph_supervisor")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from langgraph.prebuilt import create_react_agent

ROLES = {
    "supervisor": True,
    "math_expert": {"models": ["small"]},
    "research_expert": {"optional": True, "models": ["mid"]},
}


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def search(query: str) -> str:
    """Search the web."""
    return "nothing found"


def cards() -> list[ModelCard]:
    return [
        ModelCard(name="small", quality=0.5, input_price=0.1, output_price=0.2),
        ModelCard(name="mid", quality=0.7, input_price=1.0, output_price=2.0),
        ModelCard(name="big", quality=0.9, input_price=10.0, output_price=30.0),
    ]


@pytest.fixture
def models() -> ScriptedModels:
    return ScriptedModels()


@pytest.fixture
def own(models: ScriptedModels) -> ScriptedChat:
    """The application's own (unrouted) model."""
    return ScriptedChat(name="own", calls=models.calls)


def make_router(models: ScriptedModels, *extra: Any, **kwargs: Any) -> Router:
    return Router(cards(), plugins=[models, Directives(), *extra], load_entrypoints=False, modes=["full"], **kwargs)


def supervisor_team(own: Any) -> Any:
    """A create_supervisor team: a create_react_agent math worker and a create_agent research worker."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        math = create_react_agent(RoutedChatModel("math_expert", default=own), [add], name="math_expert")
    research = create_agent(RoutedChatModel("research_expert", default=own), [search], name="research_expert")
    return supervisor_mod.create_supervisor([math, research], model=RoutedChatModel("supervisor", default=own))


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def summary(out: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, text or called tool) per message."""
    rows = []
    for m in out["messages"]:
        if isinstance(m, AIMessage) and m.tool_calls:
            rows.append(("call", m.tool_calls[0]["name"]))
        elif isinstance(m, AIMessage):
            rows.append(("ai", str(m.content)))
        elif isinstance(m, ToolMessage):
            rows.append(("tool", str(m.content)))
        elif isinstance(m, HumanMessage):
            rows.append(("human", str(m.content)))
    return rows


# -- supervisor --------------------------------------------------------------------------------------------------
def test_supervisor_roles_come_from_the_roles_argument(models: ScriptedModels, own: Any) -> None:
    app = routed(supervisor_team(own), router=make_router(models), roles=ROLES).compile()
    assert {r.name: r.optional for r in app.routing.roles} == {
        "supervisor": False, "math_expert": False, "research_expert": True}
    assert app.routing.detached == {"research_expert"} and app.routing.forced_required == {}


def test_supervisor_kept_agent_runs_on_its_routed_model(models: ScriptedModels, own: Any) -> None:
    app = routed(supervisor_team(own), router=make_router(models), roles=ROLES).compile()
    out = app.invoke(ask("q goto=research_expert model=big"))
    assert ("call", "transfer_to_research_expert") in summary(out)
    assert ("ai", "mid: answer") in summary(out) and summary(out)[-1] == ("ai", "big: answer")
    assert models.calls == [
        ("big", ("transfer_to_math_expert", "transfer_to_research_expert")),
        ("mid", ("search",)),
        ("big", ("transfer_to_math_expert", "transfer_to_research_expert")),
    ]


def test_supervisor_pruned_agent_is_hidden_and_gone(models: ScriptedModels, own: Any) -> None:
    app = routed(supervisor_team(own), router=make_router(models), roles=ROLES).compile()
    out = app.invoke(ask("q goto=research_expert prune=research_expert model=big"))
    assert summary(out)[1] == ("call", "transfer_to_math_expert")
    assert summary(out)[-1] == ("ai", "big: answer")
    assert models.calls == [("big", ("transfer_to_math_expert",)), ("small", ("add",)),
                            ("big", ("transfer_to_math_expert",))]
    (variant,) = app.routing._variants.values()
    assert set(variant.get_graph().nodes) == {"__start__", "supervisor", "math_expert", "__end__"}
    assert "research_expert" in app.get_graph().nodes  # the full graph is untouched
    assert set(app.builder.nodes["supervisor"].ends) == {"math_expert", "research_expert", "__end__"}
    assert set(variant.builder.nodes["supervisor"].ends) == {"math_expert", "__end__"}


def test_hallucinated_handoff_to_a_pruned_agent_is_answered_not_silent(models: ScriptedModels, own: Any) -> None:
    app = routed(supervisor_team(own), router=make_router(models), roles=ROLES).compile()
    out = app.invoke(ask("q stubborn=research_expert prune=research_expert"))
    rows = summary(out)
    assert rows[1] == ("call", "transfer_to_research_expert")
    assert rows[2][0] == "tool" and "not a valid tool" in rows[2][1]
    assert rows[3] == ("call", "transfer_to_math_expert")
    assert rows[-1] == ("ai", "small: answer")  # the run went on and ended with the supervisor's answer


def test_concurrent_ainvoke_with_different_plans(models: ScriptedModels, own: Any) -> None:
    app = routed(supervisor_team(own), router=make_router(models), roles=ROLES).compile()
    queries = [f"q{i} goto=research_expert {'prune=research_expert' if i % 2 else ''} "
               f"{'model=big' if i % 3 == 0 else ''}" for i in range(24)]

    async def main() -> list[Any]:
        return await asyncio.gather(*(app.ainvoke(ask(q)) for q in queries))

    for q, out in zip(queries, asyncio.run(main())):
        rows = summary(out)
        sup = "big" if "model=big" in q else "small"
        worker = ("call", "transfer_to_math_expert") if "prune" in q else ("call", "transfer_to_research_expert")
        assert rows[1] == worker and rows[-1] == ("ai", f"{sup}: answer")
        assert ("ai", "small: answer" if "prune" in q else "mid: answer") == rows[3]
    assert app.routing.cached_variants == 1


def test_stream_subgraphs_and_messages(models: ScriptedModels, own: Any) -> None:
    app = routed(supervisor_team(own), router=make_router(models), roles=ROLES).compile()
    chunks = list(app.stream(ask("q prune=research_expert"), subgraphs=True))
    assert any(ns for ns, _ in chunks)
    msgs = [m for m, _ in app.stream(ask("q prune=research_expert"), stream_mode="messages")]
    answers = [m.content for m in msgs if isinstance(m, AIMessage) and m.content.endswith("answer")]
    assert answers == ["small: answer", "small: answer"]  # each reply once (the delegate's run is not streamed)


def test_routed_chat_model_outside_a_routed_run_uses_default(models: ScriptedModels, own: Any) -> None:
    proxy = RoutedChatModel("math_expert", default=own)
    assert proxy.invoke("hi").content == "own: answer"
    assert models.calls == [("own", ())]
    bound = proxy.bind_tools([add])
    assert isinstance(bound, RoutedChatModel) and proxy.bound_tools == ()
    bound.invoke("hi")
    assert models.calls[-1] == ("own", ("add",))
    assert asyncio.run(bound.ainvoke("hi")).content == "own: answer"
    assert "".join(str(c.content) for c in bound.stream("hi")) == "own: answer"
    with pytest.raises(LookupError):
        RoutedChatModel("math_expert").invoke("hi")
    # the unrouted graph works with the proxies too: every role on the app's own model
    models.calls.clear()
    out = supervisor_team(own).compile().invoke(ask("q goto=research_expert"))
    assert summary(out)[-1] == ("ai", "own: answer") and {m for m, _ in models.calls} == {"own"}


class Broken:
    @hookimpl(tryfirst=True)
    def score_models(self, pool: Any) -> Any:
        raise RuntimeError("scorer down")


def test_fail_open_runs_the_required_agents_on_the_default_model(models: ScriptedModels, own: Any) -> None:
    # the fault fallback runs the required roles only (issue 12.2): the optional research expert is pruned
    app = routed(supervisor_team(own), router=make_router(models, Broken()), roles=ROLES).compile()
    out = app.invoke(ask("q goto=math_expert"))
    assert ("call", "transfer_to_math_expert") in summary(out)
    assert {m for m, _ in models.calls} == {"own"}
    assert not any("transfer_to_research_expert" in tools for _, tools in models.calls)  # its hand-off is hidden
    plan = app.plan_for(ask("q"))
    assert plan.fallback and plan.assignments["research_expert"] is None


def test_roles_argument_is_checked_and_merged_with_metadata(models: ScriptedModels, own: Any) -> None:
    from router_plugins import ConfigError

    with pytest.raises(ConfigError):
        routed(supervisor_team(own), router=make_router(models), roles={"nobody": True}).compile()
    g = supervisor_team(own)
    g.nodes["research_expert"].metadata = {"router": {"optional": True, "description": "web"}}
    app = routed(g, router=make_router(models), roles={"research_expert": {"models": ["mid"]}}).compile()
    (role,) = app.routing.roles
    assert role.optional and role.models == ("mid",) and role.description == "web"


def test_unguardable_command_target_stays_required(models: ScriptedModels) -> None:
    """A node reached by Command(goto) from plain code (no hand-off tool) keeps the old, safe behaviour."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Command

    class S(TypedDict, total=False):
        x: int

    def boss(state: S) -> Command:
        return Command(goto="helper")

    g = StateGraph(S)
    g.add_node("boss", boss, destinations=("helper", END))
    g.add_node("helper", lambda s: {"x": 1})
    g.add_edge(START, "boss")
    app = routed(g, router=make_router(models), roles={"boss": True, "helper": {"optional": True}},
                 query=lambda s: "q prune=helper").compile()
    assert "helper" in app.routing.forced_required and not app.routing.detached
    assert app.invoke({"x": 0}) == {"x": 1}


# -- swarm -------------------------------------------------------------------------------------------------------
try:
    import langgraph_swarm as swarm_mod
except ImportError:  # pragma: no cover - the test extra installs it
    swarm_mod = None
needs_swarm = pytest.mark.skipif(swarm_mod is None, reason="langgraph-swarm is not installed")


def swarm_team(own: Any) -> Any:
    alice = create_agent(RoutedChatModel("alice", default=own), [add, swarm_mod.create_handoff_tool(agent_name="bob")],
                         name="alice")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        to_alice = swarm_mod.create_handoff_tool(agent_name="alice")
        bob = create_react_agent(RoutedChatModel("bob", default=own), [to_alice], name="bob")
    return swarm_mod.create_swarm([alice, bob], default_active_agent="alice")


SWARM_ROLES = {"alice": {"models": ["small"]}, "bob": {"optional": True, "models": ["mid"]}}


@needs_swarm
def test_swarm_prunes_an_agent(models: ScriptedModels, own: Any) -> None:
    app = routed(swarm_team(own), router=make_router(models), roles=SWARM_ROLES).compile()
    assert app.routing.detached == {"bob"}
    out = app.invoke(ask("q"))
    assert summary(out)[1] == ("call", "transfer_to_bob") and summary(out)[-1] == ("ai", "mid: answer")
    assert out["active_agent"] == "bob"
    models.calls.clear()
    out = app.invoke(ask("q prune=bob"))
    assert summary(out)[1:] == [("ai", "small: answer")]
    assert models.calls == [("small", ("add",))]
    (variant,) = app.routing._variants.values()
    assert "bob" not in variant.get_graph().nodes
    out = app.invoke(ask("q stubborn=bob prune=bob"))
    rows = summary(out)
    assert rows[1] == ("call", "transfer_to_bob") and "not a valid tool" in rows[2][1]
    assert rows[-1] == ("ai", "small: answer")


@needs_swarm
def test_swarm_resumes_a_thread_whose_active_agent_is_now_pruned(models: ScriptedModels, own: Any) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    app = routed(swarm_team(own), router=make_router(models), roles=SWARM_ROLES).compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "t1"}}
    assert app.invoke(ask("first"), cfg)["active_agent"] == "bob"
    out = app.invoke(ask("second prune=bob"), cfg)  # the stored active_agent is bob, now pruned: alice answers
    assert summary(out)[-1] == ("ai", "small: answer")
    out = app.invoke({**ask("third prune=bob"), "active_agent": "bob"}, cfg)
    assert summary(out)[-1] == ("ai", "small: answer")
    models.calls.clear()
    app.invoke(ask("fourth"), cfg)  # bob kept again: the thread goes back to him (he hands on to alice)
    assert models.calls == [("mid", ("transfer_to_alice",)), ("small", ("add", "transfer_to_bob"))]


# -- the example ---------------------------------------------------------------------------------------------------
def test_supervisor_example_runs_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    math_q, research_q = load_example("supervisor_team").main()
    assert "ai: transfer_to_math_expert" in math_q and math_q[-1].startswith("ai: [large] done")
    assert "ai: transfer_to_research_expert" in research_q
    assert "research_expert  pruned" in capsys.readouterr().out
