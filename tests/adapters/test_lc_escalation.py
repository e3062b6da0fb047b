"""Escalation cascades inside LangChain / LangGraph apps: EscalatingChatModel and RouterMiddleware(escalation=...)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph

from lg_fakes import make_cards
from router_plugins.options import PlanOptions  # noqa: E402
from router_plugins import ConfigError, UnknownModelError, hookimpl
from router_plugins.adapters.langchain.escalating import EscalatingChatModel
from router_plugins.adapters.langchain import RouterMiddleware
from router_plugins.escalation import Escalation
from router_plugins.router import Router

USAGE = {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100}
SMALL_COST, BIG_COST = 1000 * 0.1e-6 + 100 * 0.2e-6, 1000 * 10e-6 + 100 * 30e-6


class Scripted(BaseChatModel):
    """Answers ``answer`` (or raises it when it is an exception); calls 'lookup' first when ``tool_turns`` > 0."""

    label: str
    answer: Any
    tool_turns: int = 0
    bound: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        if isinstance(self.answer, Exception):
            raise self.answer
        done = sum(isinstance(m, ToolMessage) for m in messages)
        if done < self.tool_turns:
            msg = AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": f"c{done}"}], usage_metadata=USAGE)
        else:
            msg = AIMessage(self.answer, usage_metadata=USAGE)
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def bind_tools(self, tools: Any, **kw: Any) -> Scripted:  # type: ignore[override]
        return self.model_copy(update={"bound": len(tools)})


class Models:
    """Plugin: each card answers what ``answers`` says for it."""

    def __init__(self, answers: dict[str, Any], tool_turns: int = 0) -> None:
        self.answers, self.tool_turns = answers, tool_turns

    @hookimpl
    def make_chat_model(self, card: Any, framework: str) -> Any:
        return Scripted(label=card.name, answer=self.answers[card.name], tool_turns=self.tool_turns)


class SureJudge:
    """Plugin: confident in answers that say 'sure', doubtful otherwise."""

    @hookimpl(tryfirst=True)
    def judge_response(self, query: Any, model: str, response: str, attempts: Any, context: Any) -> float:
        return 0.9 if "sure" in response else 0.1


def make_router(answers: dict[str, Any], *, judge: bool = True, tool_turns: int = 0, **kw: Any) -> Router:
    plugins: list[Any] = [Models(answers, tool_turns)] + ([SureJudge()] if judge else [])
    return Router(make_cards(), plugins=plugins, load_entrypoints=False, **kw)


CASCADE = Escalation(("small", "big"), (0.5,))


def escalation_of(message: AIMessage) -> list[str]:
    return [a["model"] for a in message.response_metadata["router_escalation"]]


def test_a_confident_cheap_answer_is_kept() -> None:
    model = EscalatingChatModel(router=make_router({"small": "sure: 4", "big": "4"}), escalation=CASCADE)
    reply = model.invoke("2 + 2?")
    assert reply.content == "sure: 4"
    assert reply.response_metadata["router_model"] == "small"
    assert escalation_of(reply) == ["small"]
    assert reply.response_metadata["cost_usd"] == pytest.approx(SMALL_COST)


def test_a_doubtful_cheap_answer_escalates_and_every_call_is_paid() -> None:
    model = EscalatingChatModel(router=make_router({"small": "maybe 5", "big": "4"}), escalation=CASCADE)
    reply = model.invoke([HumanMessage("2 + 2?")])
    assert (reply.content, reply.response_metadata["router_model"]) == ("4", "big")
    steps = reply.response_metadata["router_escalation"]
    assert [s["confidence"] for s in steps] == [0.1, 1.0]
    assert reply.response_metadata["cost_usd"] == pytest.approx(SMALL_COST + BIG_COST)
    assert asyncio.run(model.ainvoke("2 + 2?")).response_metadata["router_escalation"] == steps


def test_built_in_answer_checks_escalate_wrong_arithmetic() -> None:
    """No judge plugin: the built-in checks catch a provably wrong step and keep a clean one."""
    wrong = make_router({"small": "3 * 4 = 13, so the answer is 13.", "big": "12"}, judge=False)
    assert EscalatingChatModel(router=wrong, escalation=CASCADE).invoke("3 times 4?").content == "12"
    right = make_router({"small": "3 * 4 = 12, so the answer is 12.", "big": "12"}, judge=False)
    assert EscalatingChatModel(router=right, escalation=CASCADE).invoke("3 times 4?").response_metadata[
        "router_model"] == "small"


def test_runs_as_the_model_of_a_langgraph_node() -> None:
    model = EscalatingChatModel(router=make_router({"small": "maybe", "big": "sure, 4"}), escalation=CASCADE)

    def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState).add_node("answer", answer).add_edge(START, "answer").compile()
    out = graph.invoke({"messages": [HumanMessage("2 + 2?")]})
    assert out["messages"][-1].content == "sure, 4"
    assert escalation_of(out["messages"][-1]) == ["small", "big"]


def test_a_failing_cheap_model_is_skipped_fail_open(caplog: pytest.LogCaptureFixture) -> None:
    answers = {"small": RuntimeError("rate limited"), "big": "4"}
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        reply = EscalatingChatModel(router=make_router(answers), escalation=CASCADE).invoke("2 + 2?")
    assert reply.response_metadata["router_model"] == "big"
    assert "rate limited" in caplog.text
    with pytest.raises(RuntimeError, match="rate limited"):
        EscalatingChatModel(router=make_router(answers, fail_open=False), escalation=CASCADE).invoke("2 + 2?")
    with pytest.raises(RuntimeError, match="down"):  # the last model has nothing to fall back to
        EscalatingChatModel(router=make_router({"small": "maybe", "big": RuntimeError("down")}),
                            escalation=CASCADE).invoke("2 + 2?")


def test_bad_configuration_is_a_typed_error() -> None:
    router = make_router({"small": "x", "big": "y"})
    with pytest.raises(UnknownModelError, match="nope"):
        EscalatingChatModel(router=router, escalation=Escalation(("small", "nope"), (0.5,)))
    with pytest.raises(ConfigError, match="Escalation"):
        EscalatingChatModel(router=router, escalation=("small", "big"))
    with pytest.raises(ConfigError, match="Router"):
        EscalatingChatModel(router=object(), escalation=CASCADE)
    with pytest.raises(ConfigError, match="human message"):
        EscalatingChatModel(router=router, escalation=CASCADE).invoke([AIMessage("no question here")])
    with pytest.raises(UnknownModelError, match="nope"):
        RouterMiddleware(router, escalation=Escalation(("nope",)))


def test_bound_tools_reach_every_model_of_the_cascade() -> None:
    model = EscalatingChatModel(router=make_router({"small": "x", "big": "y"}), escalation=CASCADE)
    bound = model.bind_tools([lookup])
    assert [bound._model(n).bound for n in CASCADE.models] == [1, 1]
    assert model._model("small").bound == 0


@tool
def lookup(q: str) -> str:
    """Look something up."""
    return "found"


def test_agent_middleware_keeps_tool_calls_cheap_and_escalates_a_doubtful_answer() -> None:
    router = make_router({"small": "maybe x", "big": "sure: x"}, tool_turns=2)
    app_model = Scripted(label="app", answer="unused")
    app = create_agent(app_model, tools=[lookup], middleware=[RouterMiddleware(router, escalation=CASCADE)])
    for run in (app.invoke, lambda x: asyncio.run(app.ainvoke(x))):
        out = run({"messages": [{"role": "user", "content": "what is x?"}]})
        ai = [m for m in out["messages"] if isinstance(m, AIMessage)]
        assert [escalation_of(m) for m in ai] == [["small"], ["small"], ["small", "big"]]
        assert ai[-1].content == "sure: x"
        assert [m.response_metadata["cost_usd"] for m in ai] == pytest.approx(
            [SMALL_COST, SMALL_COST, SMALL_COST + BIG_COST])


def test_agent_middleware_charges_every_attempt_and_falls_back_when_the_budget_is_spent() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    router = make_router({"small": "maybe x", "big": "sure: x"}, tool_turns=1, default_model="small")
    app = create_agent(Scripted(label="app", answer="unused"), tools=[lookup], checkpointer=InMemorySaver(),
                       middleware=[RouterMiddleware(router, escalation=CASCADE)])
    config = {"configurable": {"thread_id": "t"}}
    app.invoke({"messages": [{"role": "user", "content": "what is x?"}]}, config)
    assert app.get_state(config).values["router_spent_usd"] == pytest.approx(SMALL_COST + SMALL_COST + BIG_COST)

    router = make_router({"small": "maybe x", "big": "sure: x"}, tool_turns=2, default_model="small")
    mw = RouterMiddleware(router, escalation=CASCADE, options=PlanOptions(budget_usd=1.5 * SMALL_COST))
    out = create_agent(Scripted(label="app", answer="unused"), tools=[lookup], middleware=[mw]).invoke(
        {"messages": [{"role": "user", "content": "what is x?"}]})
    ai = [m for m in out["messages"] if isinstance(m, AIMessage)]
    assert [m.response_metadata.get("router_fallback", False) for m in ai] == [False, False, True]
    assert (ai[-1].content, ai[-1].response_metadata["router_model"]) == ("maybe x", "small")


def test_a_failing_cheap_model_is_skipped_in_an_agent_and_a_zero_threshold_reraises() -> None:
    router = make_router({"small": RuntimeError("rate limited"), "big": "sure: x"})
    app = create_agent(Scripted(label="app", answer="unused"), tools=[lookup],
                       middleware=[RouterMiddleware(router, escalation=CASCADE)])
    out = app.invoke({"messages": [{"role": "user", "content": "what is x?"}]})
    assert out["messages"][-1].content == "sure: x"
    assert escalation_of(out["messages"][-1]) == ["small", "big"]
    keep_anything = Escalation(("small", "big"), (0.0,))  # small's answer would be kept: nothing stands in for it
    with pytest.raises(RuntimeError, match="rate limited"):
        EscalatingChatModel(router=router, escalation=keep_anything).invoke("x?")
