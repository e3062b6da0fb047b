"""A LangChain chat model that answers from recorded outcomes, so routed graphs run offline with true quality and cost.

Each call looks up (query, model) in a :class:`~router_plugins.replay.ReplayBook`: the query is the text of the last
human message (exact match, or ``query_of`` decides). The reply is the recorded response where the data has one,
else a placeholder that says so; ``usage_metadata`` carries the recorded (or the dataset's estimated) tokens and
``response_metadata`` the recorded quality and cost, flagged ``cost_estimated`` when the data had no real costs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict

from router_plugins.adapters.langchain._messages import last_human_text
from router_plugins.cards import ModelCard
from router_plugins.errors import DataError
from router_plugins.hookspecs import hookimpl
from router_plugins.replay import ReplayBook, ReplayRecord

__all__ = ["ReplayChatModel", "ReplayChatModels", "replay_usage"]

#: ``ModelCard.provider`` value served by :class:`ReplayChatModels`.
REPLAY_PROVIDER = "replay"


class ReplayChatModel(BaseChatModel):
    """Replays what ``model`` answered to the query in the last human message, with its tokens, quality and cost."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    book: Any
    model: str
    query_of: Callable[[Sequence[BaseMessage]], str | int] | None = None

    @property
    def _llm_type(self) -> str:
        return "router-plugins-replay"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model}

    def record(self, messages: Sequence[BaseMessage]) -> ReplayRecord:
        """The recorded outcome this model would replay for ``messages``."""
        key = self.query_of(messages) if self.query_of is not None else last_human_text(messages)
        if key is None:
            raise DataError("the replay chat model needs a human message holding the recorded query text")
        book: ReplayBook = self.book
        return book.answer(key, self.model)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        rec = self.record(messages)
        text = rec.response if rec.response is not None else (
            f"[replay: no recorded response; recorded score {rec.quality:g}]"
        )
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": rec.input_tokens,
                "output_tokens": rec.output_tokens,
                "total_tokens": rec.input_tokens + rec.output_tokens,
            },
            response_metadata={
                "model_name": self.model,
                "replay_quality": rec.quality,
                "cost_usd": rec.cost_usd,
                "cost_estimated": rec.cost_estimated,
                "recorded_response": rec.response is not None,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ReplayChatModel:  # type: ignore[override]
        """Accept tools (agents bind them) but never call one: recorded outcomes hold no tool calls."""
        return self


def replay_usage(message: AIMessage) -> tuple[float | None, float | None, bool]:
    """(quality, cost USD, cost_estimated) recorded on a reply of :class:`ReplayChatModel`."""
    meta = message.response_metadata or {}
    return meta.get("replay_quality"), meta.get("cost_usd"), bool(meta.get("cost_estimated"))


class ReplayChatModels:
    """Plugin: ``make_chat_model`` builds a :class:`ReplayChatModel` for cards with ``provider="replay"``.

    Register it like any plugin: ``Router(pool, plugins=[ReplayChatModels(ReplayBook(table))])``.
    """

    def __init__(self, book: ReplayBook) -> None:
        self.book = book

    @hookimpl
    def make_chat_model(self, card: ModelCard, framework: str) -> Any:
        """A replay model for replay cards under LangChain; None otherwise (AutoGen: ``ReplayCompletionClients``)."""
        if card.provider != REPLAY_PROVIDER or framework != "langchain":
            return None
        return ReplayChatModel(book=self.book, model=card.model or card.name)
