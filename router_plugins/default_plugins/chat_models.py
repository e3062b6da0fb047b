"""Default clients for a card: LangChain's ``init_chat_model`` and AutoGen's OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from router_plugins.cards import ModelCard
from router_plugins.hookspecs import hookimpl


@hookimpl(trylast=True)
def make_chat_model(card: ModelCard, framework: str) -> Any:
    """Build from the card's provider, model and base_url (imports the framework only when asked)."""
    model = card.model or card.name
    if framework == "langchain":
        from langchain.chat_models import init_chat_model

        kwargs: dict[str, Any] = {"base_url": card.base_url} if card.base_url else {}
        return init_chat_model(model, model_provider=card.provider, **kwargs)
    if framework == "autogen":
        from autogen_core.models import ModelInfo
        from autogen_ext.models.openai import OpenAIChatCompletionClient

        info = ModelInfo(vision=False, function_calling=True, json_output=True, family="unknown",
                         structured_output=True)
        return OpenAIChatCompletionClient(model=model, base_url=card.base_url, model_info=info)
    return None
