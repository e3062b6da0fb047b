"""Small LangChain message helpers shared by the adapters: text of a message, the query, a reply's cost, child runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManager, AsyncCallbackManagerForLLMRun, CallbackManager
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from router_plugins.cards import ModelCard

__all__ = ["as_ai_message", "child_config", "last_human_text", "message_text", "reply_cost"]

_NOSTREAM = "nostream"  # LangGraph's tag for model runs kept out of stream_mode="messages"


def message_text(message: BaseMessage) -> str:
    """The text of a message: its string content, or the text parts of a multi-part content joined."""
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)


def last_human_text(messages: Sequence[BaseMessage]) -> str | None:
    """The text of the last human message that has any, None when there is none (the query routers plan on)."""
    for msg in reversed(messages):
        if isinstance(msg, HumanMessage) and message_text(msg).strip():
            return message_text(msg)
    return None


def as_ai_message(reply: Any) -> AIMessage:
    """A model's reply as an AIMessage (plain strings and other message types are wrapped)."""
    if isinstance(reply, AIMessage):
        return reply
    return AIMessage(content=message_text(reply) if isinstance(reply, BaseMessage) else str(reply))


def reply_cost(message: AIMessage, card: ModelCard) -> float:
    """USD of one reply: the recorded cost when the model reports one, else its token usage at the card's prices."""
    recorded = (message.response_metadata or {}).get("cost_usd")
    if isinstance(recorded, (int, float)) and math.isfinite(recorded):
        return float(recorded)
    usage = message.usage_metadata
    if not usage:
        return 0.0
    return card.cost_usd(usage.get("input_tokens", 0), usage.get("output_tokens", 0))


def child_config(run_manager: Any) -> RunnableConfig:
    """Config of a delegate call made inside a chat model's run: a child run (traces nest), kept out of LangGraph's
    message stream ("nostream") because the outer model's own run already streams the reply."""
    if run_manager is None:
        return {"tags": [_NOSTREAM]}
    is_async = isinstance(run_manager, AsyncCallbackManagerForLLMRun)
    child = (AsyncCallbackManager if is_async else CallbackManager)(handlers=[], parent_run_id=run_manager.run_id)
    child.set_handlers(run_manager.inheritable_handlers)
    child.add_tags(run_manager.inheritable_tags)
    child.add_metadata(run_manager.inheritable_metadata)
    return {"callbacks": child, "tags": [_NOSTREAM]}
