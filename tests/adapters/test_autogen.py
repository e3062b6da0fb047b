"""AutoGen AgentChat: RoutedChatCompletionClient (per call) and routed_team (per task) run real AgentChat teams."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
import pytest

pytest.importorskip("autogen_agentchat")

from autogen_agentchat.agents import AssistantAgent  # noqa: E402
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat  # noqa: E402
from autogen_core.models import ChatCompletionClient, UserMessage  # noqa: E402
from autogen_ext.models.replay import ReplayChatCompletionClient  # noqa: E402

from lg_fakes import Directives, make_cards  # noqa: E402
from router_plugins.options import PlanOptions  # noqa: E402
from router_plugins import ConfigError, ModelCard, UnknownModelError, hookimpl  # noqa: E402
from router_plugins.adapters.autogen import (  # noqa: E402
    RoutedChatCompletionClient,
    routed_team,
    task_text,
)
from router_plugins.adapters.autogen import ReplayCompletionClients  # noqa: E402
from router_plugins.adapters.autogen.clients import DEFAULT_MODEL_INFO  # noqa: E402
from router_plugins.replay import OutcomeTable, ReplayBook  # noqa: E402
from router_plugins.router import Router  # noqa: E402


class Clients:
    """Plugin: each card's AutoGen client replays '<card> says hi' (or ``reply`` when given)."""

    def __init__(self, reply: str | None = None) -> None:
        self.reply = reply
        self.built: dict[str, ReplayChatCompletionClient] = {}

    @hookimpl
    def make_chat_model(self, card: Any, framework: str) -> Any:
        if framework != "autogen":
            return None
        client = ReplayChatCompletionClient([self.reply or f"{card.name} says hi"] * 50, model_info=DEFAULT_MODEL_INFO)
        self.built[card.name] = client
        return client


class Broken:
    @hookimpl(tryfirst=True)
    def score_models(self, query: Any, pool: Any, context: Any) -> Any:
        raise RuntimeError("scorer down")


def make_router(*extra: Any, **kw: Any) -> Router:
    return Router(make_cards(), plugins=[Clients(), Directives(), *extra], load_entrypoints=False, modes=["full"], **kw)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_task_text_prefers_the_users_message() -> None:
    msgs = [UserMessage(content="the task", source="user"), UserMessage(content="solver says", source="solver")]
    assert task_text(msgs) == "the task"
    assert task_text(msgs[1:]) == "solver says"
    assert task_text([]) is None


def test_routed_client_runs_an_assistant_agent_on_the_planned_model() -> None:
    router = make_router()
    client = RoutedChatCompletionClient(router, role="assistant")
    agent = AssistantAgent("assistant", model_client=client)
    for task, model in (("hello model=big", "big"), ("hello model=small", "small")):
        result = run(agent.run(task=task))
        assert result.messages[-1].content == f"{model} says hi"
        assert client.last_plan is not None and client.last_plan.model_for("assistant") == model
    usage = client.total_usage()
    assert usage.prompt_tokens > 0
    assert client.spent_usd > 0


def test_routed_client_streams_and_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    client = RoutedChatCompletionClient(make_router(Broken(), default_model="small"), role="assistant")

    async def stream() -> list[Any]:
        return [c async for c in client.create_stream([UserMessage(content="hi model=big", source="user")])]

    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        chunks = run(stream())
    assert chunks[-1].content == "small says hi"  # planning failed: the default model answered
    assert client.last_plan is not None and client.last_plan.fallback
    assert "scorer down" in caplog.text
    with pytest.raises(ConfigError, match="no user message"):
        run(client.create([]))
    with pytest.raises(ConfigError, match="needs a Router"):
        RoutedChatCompletionClient(object())  # type: ignore[arg-type]


def test_routed_client_is_an_autogen_component() -> None:
    client = RoutedChatCompletionClient(make_router(lam=0.5), role="critic?", options=PlanOptions(budget_usd=0.2))
    model = client.dump_component()
    assert model.provider == "router_plugins.adapters.autogen.RoutedChatCompletionClient"
    assert [c["name"] for c in model.config["pool"]] == ["small", "big"]
    model.config["load_entrypoints"] = False  # the loaded router finds plugins through entry points, not here
    loaded = ChatCompletionClient.load_component(model)
    assert isinstance(loaded, RoutedChatCompletionClient)
    assert loaded.router.pool.names == ("small", "big")
    assert (loaded.role.name, loaded.role.optional, loaded.options.lam, loaded.options.budget_usd) == ("critic", True, 0.5, 0.2)
    assert loaded.model_info["function_calling"]


def _round_robin(agents: list[Any], clients: Any) -> Any:
    return RoundRobinGroupChat(agents, max_turns=len(agents))


def _team(router: Router) -> Any:
    return routed_team(
        router,
        agents={"solver": lambda c: AssistantAgent("solver", model_client=c),
                "critic": lambda c: AssistantAgent("critic", model_client=c)},
        team=_round_robin,
        roles={"critic": {"optional": True}},
    )


def test_routed_team_builds_only_the_kept_agents_on_their_models() -> None:
    team = _team(make_router())
    result = run(team.run(task="fix it model=big"))
    assert [(m.source, m.content) for m in result.messages] == [
        ("user", "fix it model=big"), ("solver", "big says hi"), ("critic", "big says hi")]
    result = run(team.run(task="fix it prune=critic"))
    assert [m.source for m in result.messages] == ["user", "solver"]
    assert team.last_plan is not None and team.last_plan.kept == ("solver",)
    usage = result.messages[-1].models_usage
    assert team.cost_usd(result) == pytest.approx(
        make_cards()[0].cost_usd(usage.prompt_tokens, usage.completion_tokens))


def test_routed_team_streams() -> None:
    async def collect() -> list[Any]:
        return [item async for item in _team(make_router()).run_stream(task="go prune=critic")]

    items = run(collect())
    assert items[-1].messages[-1].content == "small says hi"


def test_selector_group_chat_gets_a_routed_selector_client() -> None:
    clients = Clients(reply="critic")  # every model answers "critic": the selector picks the critic
    router = Router(make_cards(), plugins=[clients, Directives()], load_entrypoints=False, modes=["full"])
    team = routed_team(
        router,
        agents={"solver": lambda c: AssistantAgent("solver", model_client=c, description="solves"),
                "critic": lambda c: AssistantAgent("critic", model_client=c, description="criticises")},
        team=lambda agents, c: SelectorGroupChat(agents, model_client=c["selector"], max_turns=1),
        client_roles={"selector": {"models": ["small"]}},
    )
    result = run(team.run(task="review model=big"))
    assert [m.source for m in result.messages] == ["user", "critic"]
    assert team.last_plan is not None and team.last_plan.model_for("selector") == "small"
    assert clients.built["small"].create_calls  # the selector prompt went to the small model's client


def test_routed_team_rejects_bad_declarations() -> None:
    router = make_router()
    agent = {"solver": lambda c: AssistantAgent("solver", model_client=c)}
    with pytest.raises(UnknownModelError, match="nope"):
        routed_team(router, agent, _round_robin, roles={"solver": {"models": ["nope"]}})
    with pytest.raises(ConfigError, match="True or a dict"):
        routed_team(router, agent, _round_robin, roles={"solver": "yes"})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="unexpected keyword|Role"):
        routed_team(router, agent, _round_robin, roles={"solver": {"colour": "red"}})
    with pytest.raises(ConfigError, match="at least one agent"):
        routed_team(router, {}, _round_robin)
    pruned = routed_team(router, agent, _round_robin, roles={"solver": {"optional": True}},
                          client_roles={"selector": True})
    with pytest.raises(ConfigError, match="kept none of the agents"):
        run(pruned.run(task="x prune=solver"))


def test_replay_plugin_serves_autogen_clients_from_recorded_outcomes() -> None:
    table = OutcomeTable(name="t", texts=("what is 2+2?",), tasks=np.array(["math"]), splits=np.array(["test"]),
                         models=("small", "big"), quality=np.array([[0.0, 1.0]]), cost=np.array([[1e-6, 1e-4]]),
                         responses=np.array([["5", "4"]], dtype=object))
    cards = [ModelCard(name=m, provider="replay", input_price=p, output_price=p) for m, p in (("small", 0.1), ("big", 10))]
    router = Router(cards, plugins=[ReplayCompletionClients(ReplayBook(table)), Directives()], load_entrypoints=False)
    client = RoutedChatCompletionClient(router, role="assistant")
    agent = AssistantAgent("assistant", model_client=client)
    assert run(agent.run(task="what is 2+2?")).messages[-1].content == "5"  # small: the cheaper card


def test_swarm_agents_hand_off_only_to_kept_agents() -> None:
    from autogen_agentchat.conditions import MaxMessageTermination
    from autogen_agentchat.teams import Swarm

    built: dict[str, list[str]] = {}

    def triage(client: Any, kept: frozenset[str]) -> Any:
        built["triage"] = [r for r in ("billing", "tech") if r in kept]
        return AssistantAgent("triage", model_client=client, handoffs=built["triage"])

    team = routed_team(
        make_router(),
        agents={"triage": triage, "billing": lambda c: AssistantAgent("billing", model_client=c),
                "tech": lambda c: AssistantAgent("tech", model_client=c)},
        team=lambda agents, clients: Swarm(agents, termination_condition=MaxMessageTermination(3)),
        roles={"tech": {"optional": True}, "billing": {"optional": True}},
    )
    result = run(team.run(task="my bill prune=tech"))
    assert built["triage"] == ["billing"] and result.messages[1].source == "triage"
    run(team.run(task="my bill"))
    assert built["triage"] == ["billing", "tech"]


class SureJudge:
    @hookimpl(tryfirst=True)
    def judge_response(self, query: Any, model: str, response: str, attempts: Any, context: Any) -> float:
        return 0.9 if "sure" in response else 0.1


class PerCard:
    """Plugin: each card's client replays its own answer, or raises it when it is an exception."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    @hookimpl
    def make_chat_model(self, card: Any, framework: str) -> Any:
        answer = self.answers[card.name]
        if isinstance(answer, Exception):
            class Failing(ReplayChatCompletionClient):
                async def create(self, *args: Any, **kwargs: Any) -> Any:
                    raise answer

            return Failing(["unused"])
        return ReplayChatCompletionClient([answer] * 10, model_info=DEFAULT_MODEL_INFO)


def test_escalating_client_keeps_a_confident_cheap_answer_and_escalates_otherwise() -> None:
    from router_plugins.adapters.autogen import EscalatingChatCompletionClient
    from router_plugins.escalation import Escalation

    cascade = Escalation(("small", "big"), (0.5,))

    def ask(answers: dict[str, Any], **kw: Any) -> tuple[Any, Any]:
        router = Router(make_cards(), plugins=[PerCard(answers), SureJudge()], load_entrypoints=False)
        client = EscalatingChatCompletionClient(router, cascade, **kw)
        result = run(AssistantAgent("assistant", model_client=client).run(task="2 + 2?"))
        return result.messages[-1], client

    msg, client = ask({"small": "sure: 4", "big": "4"})
    assert msg.content == "sure: 4" and client.last_result is not None and not client.last_result.escalated
    msg, client = ask({"small": "maybe 5", "big": "4"})
    assert msg.content == "4" and [a.model for a in client.last_result.attempts] == ["small", "big"]
    assert msg.models_usage.prompt_tokens == client.total_usage().prompt_tokens  # both calls counted
    assert client.spent_usd > 0
    msg, _ = ask({"small": RuntimeError("rate limited"), "big": "4"})
    assert msg.content == "4"
    with pytest.raises(Exception, match="rate limited"):
        ask({"small": RuntimeError("rate limited"), "big": "4"}, fail_open=False)
    with pytest.raises(UnknownModelError):
        EscalatingChatCompletionClient(make_router(), Escalation(("small", "nope"), (0.5,)))
