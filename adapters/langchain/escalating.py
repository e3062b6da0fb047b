"""``EscalatingChatModel``: a LangChain chat model that runs an escalation cascade on every call.

Put it wherever a chat model goes (a LangGraph node, ``create_agent``, a chain): each call goes to the escalation's
first (cheapest) model; the router's ``judge_response`` hook rates the reply, and the next model is called while the
judge's confidence is below the step's threshold. The kept reply comes back with what every attempt cost and how
sure the judge was, in ``response_metadata`` (``router_escalation``; ``cost_usd`` is the total of all calls).

Replies that call tools are kept as they are: judges rate answers, not tool calls; under ``with_structured_output``
the structured answer (a tool call) is judged on its arguments. A cheap model whose call raises is
skipped (logged) when fail-open is on; the last model's errors always propagate. No token streaming: a reply can only
be shown once the judge has kept it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from router_plugins.adapters.langchain._messages import as_ai_message, child_config, last_human_text, message_text, reply_cost
from router_plugins._model_build import build_client
from router_plugins.errors import ConfigError
from router_plugins.escalation import Escalation, EscalationResult, Judge, replies_judge, skip_failed_call
from router_plugins.query import Query
from router_plugins.router import Router

__all__ = ["EscalatingChatModel", "escalation_metadata", "reply_judge", "reply_text"]

def reply_judge(router: Router, query: Query | str, replies: dict[str, AIMessage], *,
                fail_open: bool | None = None, judge_tool_calls: bool = False) -> Judge:
    """The router's judge for LangChain replies (:func:`~router_plugins.escalation.replies_judge`): replies that
    call tools are kept unless ``judge_tool_calls`` (structured output, judged on its arguments)."""
    return replies_judge(router, query, replies, fail_open=fail_open,
                         calls_tools=lambda reply: bool(reply.tool_calls) and not judge_tool_calls)


def reply_text(reply: AIMessage, *, tool_arguments: bool = False) -> str:
    """What a judge reads of a reply: its text, or with ``tool_arguments`` the JSON of the tool calls' arguments
    when it makes any (structured output arrives as a tool call)."""
    if tool_arguments and reply.tool_calls:
        return json.dumps([call["args"] for call in reply.tool_calls], sort_keys=True, default=str)
    return message_text(reply)


def escalation_metadata(result: EscalationResult) -> dict[str, Any]:
    """What a kept reply carries about its escalation: the model kept, every attempt, and the total cost."""
    return {
        "router_model": result.model,
        "router_escalation": [{"model": a.model, "confidence": a.confidence, "cost_usd": a.cost_usd}
                              for a in result.attempts],
        "cost_usd": result.cost_usd,
    }


class EscalatingChatModel(BaseChatModel):
    """Calls ``escalation.models`` in order and keeps the first reply the router's judge is confident in."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    router: Any
    escalation: Any
    query_of: Callable[[Sequence[BaseMessage]], Query | str] | None = None
    framework: str = "langchain"
    fail_open: bool | None = None
    judge_tool_calls: bool = False
    bound_tools: tuple[Any, ...] = Field(default=(), exclude=True)
    tool_kwargs: dict[str, Any] = Field(default_factory=dict, exclude=True)
    _models: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(self, **kwargs: Any) -> None:
        """Check the cascade up front (outside pydantic, so the typed errors surface as they are): a Router, an
        Escalation, and only models of the router's pool."""
        super().__init__(**kwargs)
        if not isinstance(self.router, Router):
            raise ConfigError(f"EscalatingChatModel needs a Router, got {type(self.router).__name__}")
        if not isinstance(self.escalation, Escalation):
            raise ConfigError(f"EscalatingChatModel needs an Escalation, got {type(self.escalation).__name__}")
        self.router.pool.require(self.escalation.models)

    @property
    def _llm_type(self) -> str:
        return "router-plugins-escalating"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"escalation": self.escalation.describe()}

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> EscalatingChatModel:  # type: ignore[override]
        """A copy that binds ``tools`` (and options such as ``tool_choice``) to every model of the cascade."""
        bound = self.model_copy(update={"bound_tools": tuple(tools), "tool_kwargs": dict(kwargs)})
        bound._models = {}  # model_copy shares the cache of clients built without these tools
        return bound

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
        """Structured output arrives as a tool call: the cascade judges its arguments (as JSON) instead of keeping
        the first model's reply unjudged."""
        judged = self.model_copy(update={"judge_tool_calls": True})
        judged._models = {}
        return BaseChatModel.with_structured_output(judged, schema, **kwargs)

    # -- pieces ------------------------------------------------------------------------------------------------------
    def _model(self, name: str) -> Any:
        model = self._models.get(name)
        if model is None:
            model = build_client(self.router, name, self.framework)  # a build failure is skipped like a failed call
            if self.bound_tools:
                model = model.bind_tools(list(self.bound_tools), **self.tool_kwargs)
            self._models[name] = model
        return model

    def _query(self, messages: Sequence[BaseMessage]) -> Query | str:
        query = self.query_of(messages) if self.query_of is not None else last_human_text(messages)
        if query is None:
            raise ConfigError("EscalatingChatModel found no human message to judge answers against: pass query_of=")
        return query

    def _text(self, reply: AIMessage) -> str:
        return reply_text(reply, tool_arguments=self.judge_tool_calls)

    def _judge(self, query: Query | str, replies: dict[str, AIMessage]) -> Judge:
        return reply_judge(self.router, query, replies, fail_open=self.fail_open, judge_tool_calls=self.judge_tool_calls)

    def _failed(self, name: str, exc: Exception) -> tuple[str, float]:
        return skip_failed_call(self.router, self.escalation, name, exc, fail_open=self.fail_open)

    def _kept(self, result: EscalationResult, replies: dict[str, AIMessage]) -> ChatResult:
        reply = replies[result.model]
        kept = reply.model_copy(update={"response_metadata": {**(reply.response_metadata or {}),
                                                              **escalation_metadata(result)}})
        return ChatResult(generations=[ChatGeneration(message=kept)])

    # -- calls -------------------------------------------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        query, replies = self._query(messages), {}

        def call(name: str) -> tuple[str, float]:
            try:
                reply = as_ai_message(self._model(name).invoke(messages, child_config(run_manager), stop=stop, **kwargs))
            except Exception as exc:
                return self._failed(name, exc)
            replies[name] = reply
            return self._text(reply), reply_cost(reply, self.router.pool[name])

        result = self.escalation.run(call, self._judge(query, replies))
        return self._kept(result, replies)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        query, replies = self._query(messages), {}

        async def call(name: str) -> tuple[str, float]:
            try:
                out = await self._model(name).ainvoke(messages, child_config(run_manager), stop=stop, **kwargs)
            except Exception as exc:
                return self._failed(name, exc)
            reply = replies[name] = as_ai_message(out)
            return self._text(reply), reply_cost(reply, self.router.pool[name])

        result = await self.escalation.arun(call, self._judge(query, replies))
        return self._kept(result, replies)
