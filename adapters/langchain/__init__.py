"""LangChain adapter: ``RouterMiddleware`` for v1 agents, the ``EscalatingChatModel`` cascade, and chat models that
answer offline (``ReplayChatModel`` from recorded outcomes, ``LocalHFChatModel`` from a local transformers model).

Names load on first use, so the LangGraph adapter can use the message helpers without importing ``langchain``'s
agent stack.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RouterAgentState": "middleware",
    "RouterMiddleware": "middleware",
    "EscalatingChatModel": "escalating",
    "escalation_metadata": "escalating",
    "reply_judge": "escalating",
    "reply_text": "escalating",
    "ReplayChatModel": "replay",
    "ReplayChatModels": "replay",
    "replay_usage": "replay",
    "LOCAL_PROVIDER": "local_hf",
    "LocalHFChatModel": "local_hf",
    "LocalHFModels": "local_hf",
    "smollm2_location": "local_hf",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
