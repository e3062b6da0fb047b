"""Default clients for a card: LangChain's ``init_chat_model`` and AutoGen's autogen-ext client of its provider."""

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
    if framework == "autogen":  # the card's provider picks the autogen-ext client (OpenAI, Azure, Anthropic, Ollama)
        from router_plugins.adapters.autogen._providers import autogen_client

        return autogen_client(card)
    return None
