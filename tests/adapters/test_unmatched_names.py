"""Names that match nothing are not silent (issue 12.5): one WARNING (and a note where the framework keeps one),
``strict=True`` raises ConfigError; client-only AutoGen roles are declared with ``client_roles``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph
from lg_fakes import Directives, make_cards
from router_plugins.adapters.langgraph import RoutedChatModel, routed

from router_plugins import ConfigError, ModelCard, hookimpl
from router_plugins.router import Router


class S(TypedDict, total=False):
    question: str
    reply: Any


def graph(router: Router, proxy: RoutedChatModel) -> Any:
    def solve(state: S) -> dict[str, Any]:
        return {"reply": proxy.invoke(state["question"])}

    g = StateGraph(S)
    g.add_node("solver", solve, metadata={"router": {"role": "math_expert"}})
    g.add_edge(START, "solver")
    g.add_edge("solver", END)
    return routed(g, router=router).compile()


def test_routed_chat_model_with_a_role_the_plan_lacks_warns_once(router: Router,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    default = FakeListChatModel(responses=["default says hi"] * 5)
    app = graph(router, RoutedChatModel("math_exprt", default=default))
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        first = app.invoke({"question": "2+2"})["reply"]
        app.invoke({"question": "3+3"})
    assert isinstance(first, AIMessage) and first.content == "default says hi"
    note = first.response_metadata["router_unmatched_role"]
    assert "'math_exprt'" in note and "did you mean 'math_expert'" in note
    assert caplog.text.count("'math_exprt' matches nothing") == 1


def test_routed_chat_model_strict_raises(router: Router) -> None:
    default = FakeListChatModel(responses=["default says hi"])
    app = graph(router, RoutedChatModel("math_exprt", default=default, strict=True))
    with pytest.raises(ConfigError, match="math_exprt.*did you mean 'math_expert'"):
        app.invoke({"question": "2+2"})


class Clients:
    @hookimpl
    def make_chat_model(self, card: ModelCard, framework: str) -> Any:
        from autogen_ext.models.replay import ReplayChatCompletionClient
        from router_plugins.adapters.autogen.clients import DEFAULT_MODEL_INFO

        return ReplayChatCompletionClient([f"{card.name} says hi"] * 20, model_info=DEFAULT_MODEL_INFO)


def test_routed_team_role_typo_warns_and_adds_no_paid_role(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("autogen_agentchat")
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.teams import RoundRobinGroupChat
    from router_plugins.adapters.autogen import routed_team

    router = Router(make_cards(), plugins=[Clients(), Directives()], load_entrypoints=False, modes=["full"])
    agents = {"solver": lambda c: AssistantAgent("solver", model_client=c),
              "critic": lambda c: AssistantAgent("critic", model_client=c)}

    def team(agents: list[Any], clients: Any) -> Any:
        return RoundRobinGroupChat(agents, max_turns=len(agents))

    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        routed = routed_team(router, agents, team, roles={"critc": {"optional": True}})
    assert "'critc' matches nothing" in caplog.text and "did you mean 'critic'" in caplog.text
    assert "critc" in routed.unmatched
    assert [r.name for r in routed.roles] == ["solver", "critic"]  # no client-only role 'critc'
    plan = asyncio.run(routed.plan("x"))
    assert "critc" not in plan.assignments
    with pytest.raises(ConfigError, match="'critc'.*client_roles"):
        routed_team(router, agents, team, roles={"critc": {"optional": True}}, strict=True)
    with pytest.raises(ConfigError, match="names agent"):
        routed_team(router, agents, team, client_roles={"critic": True})
    selector = routed_team(router, agents, team, client_roles={"selector": {"models": ["small"]}})
    assert [r.name for r in selector.roles] == ["solver", "critic", "selector"] and not selector.unmatched
