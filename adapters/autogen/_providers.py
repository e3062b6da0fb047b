"""AutoGen model clients per card ``provider``, built from autogen-ext component configs (issue 16.4).

A card names its provider the way LangChain's ``init_chat_model`` does, so one pool serves both frameworks:
``openai`` (and no provider: any OpenAI-compatible server at ``base_url``), ``azure_openai``, ``anthropic`` and
``ollama``. Each becomes a ``ComponentModel`` (``provider`` = the autogen-ext class, ``config`` = its fields from the
card) loaded with ``ChatCompletionClient.load_component``, AutoGen's own way to build a client from configuration;
:func:`client_config` gives that config without building anything. Credentials come from each SDK's usual
environment variables (``OPENAI_API_KEY``, ``AZURE_OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``), never from the card.
``provider="replay"`` cards are served by the ``ReplayCompletionClients`` plugin.
"""

from __future__ import annotations

import os
from typing import Any

from autogen_core import ComponentModel
from autogen_core.models import ChatCompletionClient, ModelFamily, ModelInfo

from router_plugins.cards import ModelCard
from router_plugins.errors import ConfigError

__all__ = ["PROVIDERS", "autogen_client", "client_config"]

#: card provider → (autogen-ext client class path, the pip extra that installs it)
PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("autogen_ext.models.openai.OpenAIChatCompletionClient", "autogen-ext[openai]"),
    "azure_openai": ("autogen_ext.models.openai.AzureOpenAIChatCompletionClient", "autogen-ext[openai,azure]"),
    "anthropic": ("autogen_ext.models.anthropic.AnthropicChatCompletionClient", "autogen-ext[anthropic]"),
    "ollama": ("autogen_ext.models.ollama.OllamaChatCompletionClient", "autogen-ext[ollama]"),
}
_ALIASES = {None: "openai", "azure": "azure_openai"}

#: What a model that autogen-ext does not know is declared to do (tools and JSON, no vision).
UNKNOWN_MODEL_INFO = ModelInfo(vision=False, function_calling=True, json_output=True, family=ModelFamily.UNKNOWN,
                               structured_output=True)


def _provider(card: ModelCard) -> str:
    provider = _ALIASES.get(card.provider, card.provider)
    if provider == "replay":
        raise ConfigError(
            f"card {card.name!r} has provider 'replay': register the ReplayCompletionClients(book) plugin "
            "(router_plugins.adapters.autogen) to serve it"
        )
    if provider not in PROVIDERS:
        if card.base_url:  # an OpenAI-compatible server (vLLM, llama.cpp, LM Studio, ...)
            return "openai"
        raise ConfigError(
            f"card {card.name!r}: no AutoGen client for provider {card.provider!r}; use one of {sorted(PROVIDERS)}, "
            "give an OpenAI-compatible base_url, or register a make_chat_model plugin"
        )
    return provider


def client_config(card: ModelCard, *, model_info: ModelInfo | None = None) -> ComponentModel:
    """The autogen-ext component config of the card's client (nothing is imported or built)."""
    provider = _provider(card)
    model = card.model or card.name
    config: dict[str, Any] = {"model": model}
    if provider == "openai":
        if card.base_url:
            config["base_url"] = card.base_url
    elif provider == "azure_openai":
        endpoint = card.base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
        version = os.environ.get("OPENAI_API_VERSION")
        if not endpoint or not version:
            raise ConfigError(
                f"card {card.name!r} (azure_openai) needs its endpoint as base_url (or AZURE_OPENAI_ENDPOINT) and "
                "the API version in OPENAI_API_VERSION"
            )
        config.update(azure_endpoint=endpoint, azure_deployment=model, api_version=version)
    elif provider == "anthropic":
        if card.base_url:
            config["base_url"] = card.base_url
    elif provider == "ollama" and card.base_url:
        config["host"] = card.base_url
    if model_info is not None:
        config["model_info"] = dict(model_info)
    return ComponentModel(provider=PROVIDERS[provider][0], component_type="model", config=config)


def _needs_model_info(exc: Exception) -> bool:
    return isinstance(exc, ValueError) and "model_info" in str(exc)


def autogen_client(card: ModelCard) -> ChatCompletionClient:
    """The card's AutoGen client, loaded from :func:`client_config`; a model unknown to autogen-ext is declared
    with :data:`UNKNOWN_MODEL_INFO`. ConfigError names the pip extra when the provider's package is missing."""
    provider = _provider(card)
    try:
        try:
            return ChatCompletionClient.load_component(client_config(card))
        except ValueError as exc:
            if not _needs_model_info(exc):
                raise
            return ChatCompletionClient.load_component(client_config(card, model_info=UNKNOWN_MODEL_INFO))
    except ImportError as exc:
        raise ConfigError(
            f"card {card.name!r} (provider {provider!r}) needs {PROVIDERS[provider][1]}: "
            f"pip install \"{PROVIDERS[provider][1]}\" ({type(exc).__name__}: {exc})"
        ) from exc
