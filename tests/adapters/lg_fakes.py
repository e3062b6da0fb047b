"""Fake chat models and a directive-driven planning plugin shared by the adapter tests."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel

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
