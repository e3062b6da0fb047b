"""Route a ``create_supervisor`` team offline: a model per agent per question, and the research agent pruned when
the question does not need it.

    python examples/supervisor_team.py

The team is built the usual way; the only changes are ``RoutedChatModel(role, default=app_model)`` wherever a model
goes and ``routed(workflow, router=..., roles={...})``. The models here are tiny offline fakes (``KeywordChat``)
that hand off by keyword and sign their answers with the model's name, so you can see who ran on what.
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph_supervisor import create_supervisor

from router_plugins import ModelCard, hookimpl
from router_plugins.adapters.langgraph import RoutedChatModel, routed
from router_plugins.router import Router


class KeywordChat(BaseChatModel):
    """An offline stand-in for a tool-calling LLM: hands off to research for 'look up', else to math; then answers."""

    @property
    def _llm_type(self) -> str:
        return "keyword-demo"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:  # type: ignore[override]
        return self.bind(tool_names=[t.name for t in tools])

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  tool_names: Sequence[str] = (), **kwargs: Any) -> ChatResult:
        last, question = messages[-1], next(str(m.content) for m in messages if isinstance(m, HumanMessage))
        want = "transfer_to_research_expert" if "look up" in question else "transfer_to_math_expert"
        if want in tool_names and not isinstance(last, ToolMessage):
            reply = AIMessage(content="", tool_calls=[{"name": want, "args": {}, "id": uuid.uuid4().hex}])
        else:
            reply = AIMessage(content=f"[{self.name}] done: {question}")
        return ChatResult(generations=[ChatGeneration(message=reply)])


class DemoPlugins:
    """Plugins: KeywordChat clients for every card, and the research agent kept only for 'look up' questions."""

    @hookimpl
    def make_chat_model(self, card: ModelCard, framework: str) -> Any:
        return KeywordChat(name=card.name) if framework == "langchain" else None

    @hookimpl(tryfirst=True)
    def allocate_roles(self, query: Any, roles: Any) -> Any:
        return [r.name for r in roles if not r.optional or re.search(r"look up", query.text)]


def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def web_search(query: str) -> str:
    """Search the web."""
    return "FAANG headcount 2024: about 1.9 million"


def build_app(app_model: Any, router: Router) -> Any:
    """The supervisor team with routed models; ``app_model`` runs everything when routing is off or fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        math = create_agent(RoutedChatModel("math_expert", default=app_model), [add], name="math_expert")
        research = create_agent(RoutedChatModel("research_expert", default=app_model), [web_search],
                                name="research_expert")
        workflow = create_supervisor([math, research], model=RoutedChatModel("supervisor", default=app_model))
    roles = {
        "supervisor": {"models": ["large"]},  # the coordinator always on the strong model
        "math_expert": {"models": ["small", "large"]},
        "research_expert": {"optional": True},  # pruned unless the plan keeps it
    }
    return routed(workflow, router=router, roles=roles).compile()


def main() -> list[list[str]]:
    """Route two questions; prints each plan and the messages that ran. Returns the message texts per question."""
    pool = [ModelCard(name="small", quality=0.6, input_price=0.1, output_price=0.4),
            ModelCard(name="large", quality=0.9, input_price=3.0, output_price=15.0)]
    router = Router(pool, plugins=[DemoPlugins()], load_entrypoints=False, modes=["full"], lam=1000.0)
    app = build_app(KeywordChat(name="app-model"), router)
    transcripts = []
    for question in ("what is 3 + 4?", "look up the FAANG headcount in 2024"):
        state = {"messages": [HumanMessage(question)]}
        print(app.plan_for(state).explain())
        out = app.invoke(state)
        lines = [f"{m.type}: {m.content or m.tool_calls[0]['name']}" for m in out["messages"]]
        print("\n".join("  " + line for line in lines), end="\n\n")
        transcripts.append(lines)
    return transcripts


if __name__ == "__main__":
    main()
