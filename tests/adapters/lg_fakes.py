"""Fake chat models and a directive-driven planning plugin shared by the adapter tests."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from router_plugins import ModelCard, hookimpl


class ToolFakeChat(FakeListChatModel):
    """A fake chat model that answers '<model>: <n>' and accepts tools (agents bind them)."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ToolFakeChat:  # type: ignore[override]
        return self


class FakeModels:
    """Plugin: every card becomes a ToolFakeChat named after the card."""

    @hookimpl
    def make_chat_model(self, card: ModelCard, framework: str) -> Any:
        if framework != "langchain":
            return None
        return ToolFakeChat(responses=[f"{card.name} says hi"], name=card.name)


class Directives:
    """Plugin: a query 'prune=a,b model=big' prunes those roles and puts every kept role on that model."""

    @staticmethod
    def _get(text: str, key: str) -> str | None:
        m = re.search(rf"\b{key}=([\w,\-]+)", text)
        return m.group(1) if m else None

    @hookimpl(tryfirst=True)
    def allocate_roles(self, query: Any, roles: Any) -> Any:
        prune = set((self._get(query.text, "prune") or "").split(","))
        return [r.name for r in roles if not (r.optional and r.name in prune)]

    @hookimpl(tryfirst=True)
    def route_role(self, query: Any, candidates: Any) -> Any:
        want = self._get(query.text, "model")
        names = [c.name for c in candidates]
        return want if want in names else names[0]


def make_cards() -> list[ModelCard]:
    return [
        ModelCard(name="small", quality=0.5, input_price=0.1, output_price=0.2),
        ModelCard(name="big", quality=0.9, input_price=10.0, output_price=30.0),
    ]


def model_name(model: Any) -> str | None:
    return getattr(model, "name", None)


# --- tool-calling fakes for prebuilt multi-agent graphs -------------------------------------------------------------
class ScriptedChat(BaseChatModel):
    """A fake tool-calling chat model; its replies follow directives in the human message (see ``scripted_reply``)."""

    calls: Any  # shared list (typed Any so pydantic does not copy it): (model, sorted names of the tools it saw)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:  # type: ignore[override]
        names = [getattr(t, "name", None) or (t.get("name") if isinstance(t, dict) else t.__name__) for t in tools]
        return self.bind(tool_names=names)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  tool_names: Sequence[str] = (), **kwargs: Any) -> ChatResult:
        self.calls.append((str(self.name), tuple(sorted(tool_names))))
        return ChatResult(generations=[ChatGeneration(message=scripted_reply(str(self.name), messages, tool_names))])


def scripted_reply(model: str, messages: Sequence[BaseMessage], tools: Sequence[str]) -> AIMessage:
    """'goto=X' hands off to X when its tool is bound (else to the first hand-off tool); 'stubborn=X' calls
    transfer_to_X once even when it is not bound; after a successful transfer the model answers."""
    text = next((m.content for m in messages if isinstance(m, HumanMessage)), "")
    last = messages[-1] if messages else None
    if isinstance(last, ToolMessage) and "Successfully transferred" in str(last.content):
        return AIMessage(content=f"{model}: answer")
    handoffs = [t for t in tools if t.startswith("transfer_to_")]
    stubborn = re.search(r"\bstubborn=(\w+)", str(text))
    errored = any(isinstance(m, ToolMessage) and m.status == "error" for m in messages)
    if stubborn and not errored:
        return _call(f"transfer_to_{stubborn.group(1)}")
    want = re.search(r"\bgoto=(\w+)", str(text))
    preferred = [t for t in handoffs if want and t == f"transfer_to_{want.group(1)}"] + handoffs
    return _call(preferred[0]) if preferred else AIMessage(content=f"{model}: answer")


def _call(tool: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": tool, "args": {}, "id": f"call_{uuid.uuid4().hex[:8]}"}])


class ScriptedModels:
    """Plugin: every card becomes a ScriptedChat named after the card, logging into ``calls``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    @hookimpl
    def make_chat_model(self, card: ModelCard, framework: str) -> Any:
        return ScriptedChat(name=card.name, calls=self.calls) if framework == "langchain" else None
