"""``RoutedChatModel``: a chat-model proxy for prebuilt agents (supervisor, swarm, ``create_agent`` workers).

Prebuilt agents bind their tools to the model they are given when the graph is built, so per-run routing has to
happen inside the model: pass ``RoutedChatModel(role=..., default=app_model)`` wherever a model goes. Its
``bind_tools`` only records the tools; each call finds the current run's plan (run config, or the context variable
LangGraph sets around a node), delegates to the model the plan gives the role with the recorded tools bound, and
hides hand-off tools whose destination agent the plan pruned. Outside a routed run, or when the run fell back
(fail-open), it delegates to ``default``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from pydantic import ConfigDict, Field
from router_plugins.adapters.langchain._messages import as_ai_message, child_config
from router_plugins.adapters.langgraph._binding import RouteBinding, current_binding
from router_plugins.adapters.langgraph._handoff import handoff_destination

from router_plugins._unmatched import WarnOnce, report_unmatched, unmatched_message

__all__ = ["RoutedChatModel"]

log = logging.getLogger("router_plugins")
_warn = WarnOnce()
#: Reply metadata key saying the proxy's role matched no role of the run's plan (so it ran on its default).
UNMATCHED_KEY = "router_unmatched_role"

class RoutedChatModel(BaseChatModel):
    """A chat model that runs, per call, on the model the current plan gives ``role`` (``default`` when unrouted).

    ``role=None`` uses the role of the graph node it runs under (its own, or the enclosing subgraph node's). A
    ``role`` that the run's plan does not have is a typo: the call uses ``default`` with one WARNING per role and
    says so in the reply's ``response_metadata["router_unmatched_role"]``; ``strict=True`` raises ConfigError.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    role: str | None = None
    default: Any = None
    strict: bool = False
    bound_tools: tuple[Any, ...] = Field(default=(), exclude=True)
    tool_kwargs: dict[str, Any] = Field(default_factory=dict, exclude=True)

    def __init__(self, role: str | None = None, /, **kwargs: Any) -> None:
        super().__init__(**({"role": role} if role is not None else {}), **kwargs)

    @property
    def _llm_type(self) -> str:
        return "router-plugins-routed"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"role": self.role}

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> RoutedChatModel:  # type: ignore[override]
        """A copy that records ``tools`` (and bind options such as ``tool_choice``); they are bound per call."""
        return self.model_copy(update={"bound_tools": tuple(tools), "tool_kwargs": dict(kwargs)})

    # -- resolution ----------------------------------------------------------------------------------------------
    def resolve(self, config: RunnableConfig | None = None) -> Any:
        """The model this call runs on, with the recorded tools bound minus hand-offs to pruned agents."""
        return self._resolve(config)[0]

    def _resolve(self, config: RunnableConfig | None = None) -> tuple[Any, str | None]:
        """``resolve`` and, when the role matched no planned role, why the default model runs."""
        config = config if config is not None else var_child_runnable_config.get()
        binding = current_binding(config)
        model, unmatched = self._target(binding, config)
        tools = list(self.bound_tools)
        if binding is not None and tools:  # a fallback plan prunes optional roles too
            pruned = set(binding.routing.pruned_nodes(binding.plan))
            tools = [t for t in tools if handoff_destination(t) not in pruned]
        if not tools:
            return model, unmatched
        return model.bind_tools(tools, **self.tool_kwargs), unmatched

    def _target(self, binding: RouteBinding | None, config: RunnableConfig | None) -> tuple[Any, str | None]:
        if binding is None or binding.plan.fallback:
            return self._need_default("outside a routed run" if binding is None else "the run fell back"), None
        role = self.role or (binding.role_of(config) if config is not None else None)
        if role is None:
            return self._need_default("no role given and the node it runs in is not routed"), None
        if role not in binding.plan.assignments:
            planned = sorted(binding.plan.assignments)
            why = unmatched_message("RoutedChatModel: role", role, planned,
                                    "name a role of the routed graph (routed(..., roles={...}) or node metadata)")
            if self.default is None:
                raise LookupError(why)
            report_unmatched(why, strict=self.strict, warn=_warn, key=(role, tuple(planned)))
            return self.default, why
        return binding.chat_model(role, self.default), None

    def _need_default(self, why: str) -> Any:
        if self.default is None:
            raise LookupError(f"RoutedChatModel(role={self.role!r}) has no default model to use {why}")
        return self.default

    # -- calls -----------------------------------------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        model, unmatched = self._resolve()
        reply = model.invoke(messages, child_config(run_manager), stop=stop, **kwargs)
        return ChatResult(generations=[ChatGeneration(message=_noted(as_ai_message(reply), unmatched))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        model, unmatched = self._resolve()
        reply = await model.ainvoke(messages, child_config(run_manager), stop=stop, **kwargs)
        return ChatResult(generations=[ChatGeneration(message=_noted(as_ai_message(reply), unmatched))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self.resolve().stream(messages, child_config(run_manager), stop=stop, **kwargs):
            yield ChatGenerationChunk(message=_as_chunk(chunk))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in self.resolve().astream(messages, child_config(run_manager), stop=stop, **kwargs):
            yield ChatGenerationChunk(message=_as_chunk(chunk))


def _noted(reply: AIMessage, unmatched: str | None) -> AIMessage:
    """The reply, its metadata saying why the default model answered when the role matched nothing."""
    if unmatched is None:
        return reply
    return reply.model_copy(update={"response_metadata": {**(reply.response_metadata or {}), UNMATCHED_KEY: unmatched}})


def _as_chunk(chunk: Any) -> AIMessageChunk:
    if isinstance(chunk, AIMessageChunk):
        return chunk
    if isinstance(chunk, AIMessage):
        return AIMessageChunk(**chunk.model_dump(exclude={"type"}))
    return AIMessageChunk(content=str(chunk))
