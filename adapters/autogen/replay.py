"""An AutoGen ``ChatCompletionClient`` that answers from recorded outcomes, so routed teams run offline.

Each call looks up (task, model) in a :class:`~router_plugins.replay.ReplayBook`, the task being the conversation's
user message (:func:`~router_plugins.adapters.autogen.task_text`). The reply is the recorded response where the data
has one, else a placeholder saying so; ``usage`` carries the recorded (or estimated) tokens.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage, ModelInfo, RequestUsage
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from router_plugins.adapters.autogen.clients import UsageTracking, task_text
from router_plugins.cards import ModelCard
from router_plugins.errors import DataError
from router_plugins.hookspecs import hookimpl
from router_plugins.replay import ReplayBook, ReplayRecord
from router_plugins._tokens import estimate_tokens

__all__ = ["REPLAY_PROVIDER", "ReplayCompletionClient", "ReplayCompletionClients"]

#: Cards with this provider answer from recorded outcomes.
REPLAY_PROVIDER = "replay"


class ReplayCompletionClient(UsageTracking, ChatCompletionClient):
    """Replays what ``model`` answered to the conversation's task, with its recorded tokens."""

    def __init__(self, book: ReplayBook, model: str, *, model_info: ModelInfo | None = None,
                 query_of: Callable[[Sequence[LLMMessage]], str | None] = task_text) -> None:
        self.book, self.model, self.query_of = book, model, query_of
        self._init_tracking(model_info)
        self.records: list[ReplayRecord] = []

    def record(self, messages: Sequence[LLMMessage]) -> ReplayRecord:
        """The recorded outcome this client replays for ``messages``."""
        key = self.query_of(messages)
        if key is None:
            raise DataError("the replay client needs a user message holding the recorded query text")
        return self.book.answer(key, self.model)

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        """The recorded answer (tools are never called: recorded outcomes hold no tool calls)."""
        rec = self.record(messages)
        self.records.append(rec)
        text = rec.response if rec.response is not None else f"[replay: no recorded response; recorded score {rec.quality:g}]"
        usage = RequestUsage(prompt_tokens=int(rec.input_tokens), completion_tokens=int(rec.output_tokens))
        self._count(usage)
        return CreateResult(finish_reason="stop", content=text, usage=usage, cached=False)

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """The recorded answer as one chunk, then the result."""
        result = await self.create(messages)
        yield str(result.content)
        yield result

    async def close(self) -> None:
        return None

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return sum(estimate_tokens(str(getattr(m, "content", ""))) for m in messages)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return 1_000_000


class ReplayCompletionClients:
    """Plugin: ``make_chat_model`` builds a :class:`ReplayCompletionClient` for cards with ``provider="replay"``.

    Register it like any plugin: ``Router(pool, plugins=[ReplayCompletionClients(ReplayBook(table))])``.
    """

    def __init__(self, book: ReplayBook) -> None:
        self.book = book

    @hookimpl
    def make_chat_model(self, card: ModelCard, framework: str) -> Any:
        """An AutoGen replay client for replay cards; None for other cards and frameworks."""
        if card.provider != REPLAY_PROVIDER or framework != "autogen":
            return None
        return ReplayCompletionClient(self.book, card.model or card.name)
