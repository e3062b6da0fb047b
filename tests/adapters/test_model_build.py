"""Building a model is inside fail-open (issue 12.3): when ``make_chat_model`` raises, every adapter runs on the
default model and says why; with ``fail_open=False`` a typed ``ModelBuildError``."""

from __future__ import annotations

import asyncio
import json
import logging
import operator
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from lg_fakes import Directives, ToolFakeChat
from router_plugins.adapters.langgraph import RoutedChatModel, routed, routed_model

from router_plugins import ModelBuildError, ModelCard, RouterError, hookimpl
from router_plugins.router import Router

#: The README's "Use it" cards: no provider, so LangChain's init_chat_model cannot infer one and raises ValueError.
README_CARDS = [
    ModelCard(name="small-model", quality=0.6, input_price=0.15, output_price=0.6),
    ModelCard(name="big-model", quality=0.9, input_price=2.5, output_price=10.0),
]


class S(TypedDict, total=False):
    question: str
    said: Annotated[list[str], operator.add]
    meta: dict[str, Any]


APP_MODEL = FakeListChatModel(responses=["app model says hi"] * 10)


def solve(state: S, config: RunnableConfig) -> dict[str, Any]:
    model = routed_model(config, default=APP_MODEL)
    return {"said": [model.invoke([HumanMessage(state["question"])]).content], "meta": dict(config["metadata"])}


def graph(router: Router, node: Any = solve) -> Any:
    g = StateGraph(S)
    g.add_node("solver", node, metadata={"router": {"role": "solver"}})
    g.add_edge(START, "solver")
    g.add_edge("solver", END)
    return routed(g, router=router).compile()


def readme_router(**kw: Any) -> Router:
    return Router(README_CARDS, plugins=[Directives()], load_entrypoints=False, **kw)


def test_model_build_error_is_a_router_error() -> None:
    assert issubclass(ModelBuildError, RouterError)


def test_routed_model_falls_back_to_the_app_default_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        out = graph(readme_router()).invoke({"question": "hi model=big-model"})
    assert out["said"] == ["app model says hi"]
    why = json.loads(out["meta"]["router_model_fallbacks"])
    assert "big-model" in why and "provider None" in why["big-model"] and "ValueError" in why["big-model"]
    assert "could not build" in caplog.text and caplog.text.count("could not build") == 1


def test_fail_open_false_raises_model_build_error_before_the_run() -> None:
    ran: list[str] = []

    def node(state: S, config: RunnableConfig) -> dict[str, Any]:
        ran.append("solver")
        return {}

    with pytest.raises(ModelBuildError, match=r"'big-model'.*provider None"):
        graph(readme_router(fail_open=False), node).invoke({"question": "hi model=big-model"})
    assert ran == []


def test_routed_model_without_default_raises_when_no_model_builds() -> None:
    def node(state: S, config: RunnableConfig) -> dict[str, Any]:
        routed_model(config)
        return {}

    with pytest.raises(ModelBuildError, match="default model failed too"):
        graph(readme_router(), node).invoke({"question": "hi model=big-model"})


def test_routed_chat_model_falls_back_to_its_default() -> None:
    proxy = RoutedChatModel("solver", default=APP_MODEL)

    def node(state: S, config: RunnableConfig) -> dict[str, Any]:
        return {"said": [proxy.invoke(state["question"]).content]}

    out = graph(readme_router(), node).invoke({"question": "hi model=small-model"})
    assert out["said"] == ["app model says hi"]


class HalfBroken:
    """Plugin: 'big' cannot be built (its integration is missing); other cards get fakes for both frameworks."""

    @hookimpl(tryfirst=True)
    def make_chat_model(self, card: ModelCard, framework: str) -> Any:
        if card.name == "big":
            raise ImportError("No module named 'langchain_bigcloud'")
        if framework == "langchain":
            return ToolFakeChat(responses=[f"{card.name} says hi"], name=card.name)
        from autogen_core.models import ModelFamily, ModelInfo
        from autogen_ext.models.replay import ReplayChatCompletionClient

        info = ModelInfo(vision=False, function_calling=True, json_output=True, family=ModelFamily.UNKNOWN,
                         structured_output=True)
        return ReplayChatCompletionClient([f"{card.name} says hi"] * 20, model_info=info)


def half_broken(**kw: Any) -> Router:
    cards = [ModelCard(name="small", quality=0.5, input_price=0.1, output_price=0.2),
             ModelCard(name="big", quality=0.9, input_price=10.0, output_price=30.0)]
    return Router(cards, plugins=[HalfBroken(), Directives()], load_entrypoints=False, default_model="small", **kw)


def test_middleware_runs_the_agents_own_model_and_tags_the_reply() -> None:
    from langchain.agents import create_agent
    from router_plugins.adapters.langchain import RouterMiddleware

    own = ToolFakeChat(responses=["own model says hi"] * 5)
    agent = create_agent(own, tools=[], middleware=[RouterMiddleware(half_broken())])
    out = agent.invoke({"messages": [HumanMessage("go model=big")]})
    reply = [m for m in out["messages"] if isinstance(m, AIMessage)][-1]
    assert reply.content == "own model says hi"
    assert "langchain_bigcloud" in reply.response_metadata["router_model_fallback"]
    strict = create_agent(own, tools=[], middleware=[RouterMiddleware(half_broken(fail_open=False))])
    with pytest.raises(ModelBuildError, match="'big'"):
        strict.invoke({"messages": [HumanMessage("go model=big")]})


def test_autogen_client_and_team_fall_back_to_the_default_model() -> None:
    pytest.importorskip("autogen_agentchat")
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.teams import RoundRobinGroupChat
    from autogen_core.models import UserMessage
    from router_plugins.adapters.autogen import RoutedChatCompletionClient, routed_team

    client = RoutedChatCompletionClient(half_broken(), role="solver")
    result = asyncio.run(client.create([UserMessage(content="go model=big", source="user")]))
    assert result.content == "small says hi" and "langchain_bigcloud" in (client.last_fallback or "")

    team = routed_team(half_broken(), agents={"solver": lambda c: AssistantAgent("solver", model_client=c)},
                       team=lambda agents, clients: RoundRobinGroupChat(agents, max_turns=1))
    out = asyncio.run(team.run(task="go model=big"))
    assert out.messages[-1].content == "small says hi"
    assert "langchain_bigcloud" in team.model_fallbacks["solver"]
    usage = out.messages[-1].models_usage
    assert team.cost_usd(out) == pytest.approx(half_broken().pool["small"].cost_usd(usage.prompt_tokens,
                                                                                      usage.completion_tokens))
    strict = routed_team(half_broken(fail_open=False), agents={"solver": lambda c: AssistantAgent("solver", c)},
                         team=lambda agents, clients: RoundRobinGroupChat(agents, max_turns=1))
    with pytest.raises(ModelBuildError, match="'big'"):
        asyncio.run(strict.run(task="go model=big"))
