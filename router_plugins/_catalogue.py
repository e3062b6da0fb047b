"""Prices and context windows of known hosted models from the ``genai-prices`` catalogue (its bundled data only:
nothing is fetched), for cards that leave them out. Explicit card values always win."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

__all__ = ["catalogue_entry", "CATALOGUE"]

log = logging.getLogger("router_plugins")

#: Shown as a price's source when it came from the catalogue.
CATALOGUE = "genai-prices"
#: ModelCard providers (LangChain's names) → genai-prices provider ids, where they differ.
_PROVIDERS = {"google_genai": "google", "google_vertexai": "google", "azure_openai": "azure", "bedrock": "aws",
              "bedrock_converse": "aws", "mistralai": "mistral"}
#: Providers that run models locally or replay them: never priced from a hosted catalogue.
_NOT_HOSTED = frozenset({"local_hf", "ollama", "llamacpp", "llama_cpp", "vllm_local", "replay"})


@cache
def _snapshot() -> Any:
    try:
        from genai_prices.data_snapshot import get_snapshot
    except ImportError:  # a plain checkout without the catalogue: cards keep their own values
        log.debug("router_plugins: genai-prices is not installed; cards without prices stay at 0")
        return None
    return get_snapshot()


@cache
def catalogue_entry(model: str, provider: str | None) -> tuple[float, float, int | None] | None:
    """(USD per 1M input tokens, per 1M output tokens, context window) of a known hosted model, else None."""
    if provider in _NOT_HOSTED:
        return None
    snapshot = _snapshot()
    if snapshot is None:
        return None
    try:
        _, info = snapshot.find_provider_model(model, None, _PROVIDERS.get(provider or "", provider), None)
    except LookupError:
        return None
    price = info.prices if not isinstance(info.prices, list) else info.prices[-1].prices  # the latest price
    try:
        return _mtok(price.input_mtok), _mtok(price.output_mtok), info.context_window
    except (AttributeError, TypeError, ValueError):
        return None


def _mtok(value: Any) -> float:
    """A price per 1M tokens as a float (tiered prices: the base tier)."""
    if value is None:
        return 0.0
    return float(getattr(value, "base", value))
