"""RouterMiddleware: every model call of a create_agent agent is routed; one budget spans the agent run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool

from lg_fakes import make_cards
from router_plugins.options import PlanOptions  # noqa: E402
from router_plugins import BudgetError, hookimpl
from router_plugins.adapters.langchain import RouterMiddleware
from router_plugins.router import Router


class ToolThenAnswer(BaseChatModel):
    """Calls the 'lookup' tool until it has two tool results, then answers; reports fixed token usage."""

    label: str

    @property
    def _llm_type(self) -> str:
        return "tool-then-answer"

    def _generate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        done = sum(isinstance(m, ToolMessage) for m in messages)
        usage = {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100}
        if done < 2:
            msg = AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": f"c{done}"}],
                            usage_metadata=usage)
        else:
            msg = AIMessage(f"answer from {self.label}", usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def bind_tools(self, tools: Any, **kw: Any) -> ToolThenAnswer:  # type: ignore[override]
        return self


class Models:
    @hookimpl
    def make_chat_model(self, card: Any, framework: str) -> Any:
        return ToolThenAnswer(label=card.name)


@tool
def lookup(q: str) -> str:
    """Look something up."""
    return "found"


def routed_models(result: dict[str, Any]) -> list[str]:
    return [m.response_metadata["router_model"] for m in result["messages"] if isinstance(m, AIMessage)]


def agent(router: Router, budget: float | None) -> Any:
    app_model = ToolThenAnswer(label="app")
    return create_agent(app_model, tools=[lookup], middleware=[RouterMiddleware(router, options=PlanOptions(budget_usd=budget))])


def test_every_call_is_routed_and_the_budget_spans_the_run() -> None:
    router = Router(make_cards(), plugins=[Models()], load_entrypoints=False)
    app = agent(router, budget=0.03)  # big costs 0.013 a call here: two fit, the third goes to small
    for _ in range(2):  # each run starts with the whole budget
        out = app.invoke({"messages": [{"role": "user", "content": "what is x?"}]})
        assert routed_models(out) == ["big", "big", "small"]
        assert out["messages"][-1].content == "answer from small"
        assert "router_spent_usd" not in out


def test_async_agent_matches_sync() -> None:
    router = Router(make_cards(), plugins=[Models()], load_entrypoints=False)
    app = agent(router, budget=0.03)
    out = asyncio.run(app.ainvoke({"messages": [{"role": "user", "content": "what is x?"}]}))
    assert routed_models(out) == ["big", "big", "small"]

    async def many() -> list[Any]:
        return await asyncio.gather(*(app.ainvoke({"messages": [{"role": "user", "content": f"q{i}"}]})
                                      for i in range(8)))

    assert all(routed_models(o) == ["big", "big", "small"] for o in asyncio.run(many()))


def test_spent_budget_falls_back_or_raises() -> None:
    router = Router(make_cards(), plugins=[Models()], load_entrypoints=False, default_model="small")
    out = agent(router, budget=0.0131).invoke({"messages": [{"role": "user", "content": "q"}]})
    ms = routed_models(out)
    assert ms[0] == "big" and set(ms[1:]) == {"small"}
    assert any(m.response_metadata.get("router_fallback") for m in out["messages"] if isinstance(m, AIMessage))
    strict = Router(make_cards(), plugins=[Models()], load_entrypoints=False, fail_open=False)
    with pytest.raises(BudgetError):
        agent(strict, budget=0.0131).invoke({"messages": [{"role": "user", "content": "q"}]})


def test_no_budget_uses_the_best_model_every_call() -> None:
    router = Router(make_cards(), plugins=[Models()], load_entrypoints=False)
    out = agent(router, budget=None).invoke({"messages": [{"role": "user", "content": "q"}]})
    assert routed_models(out) == ["big", "big", "big"]
