"""AutoGen AgentChat model clients: a routed ``ChatCompletionClient`` (plans per call) and an escalating one.

``RoutedChatCompletionClient(router, role=...)`` goes wherever AutoGen wants a model client: each ``create`` plans
on the conversation's task and delegates to the client of the model the plan picked (built by the router's
``make_chat_model`` hook with ``framework="autogen"``). It is an AutoGen component: ``dump_component()`` writes the
pool and settings, and ``ChatCompletionClient.load_component(...)`` rebuilds it with the installed plugins.

``EscalatingChatCompletionClient(router, escalation)`` runs a cheap-first escalation cascade on every call.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, Literal

from autogen_core import CancellationToken, Component
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelFamily,
    ModelInfo,
    RequestUsage,
    UserMessage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from router_plugins._model_build import ClientBuilder
from router_plugins.cards import ModelPool
from router_plugins.errors import ConfigError
from router_plugins.escalation import Escalation, EscalationResult, replies_judge, skip_failed_call
from router_plugins.options import PlanOptions
from router_plugins.plan import Plan
from router_plugins.query import Query, Role
from router_plugins.router import Router
from router_plugins._tokens import estimate_tokens

__all__ = [
    "EscalatingChatCompletionClient",
    "RoutedChatCompletionClient",
    "RoutedClientConfig",
    "UsageTracking",
    "task_text",
]

#: What a client that knows no better tells AgentChat it can do (tools and JSON, no vision).
DEFAULT_MODEL_INFO = ModelInfo(vision=False, function_calling=True, json_output=True, family=ModelFamily.UNKNOWN,
                               structured_output=True)


def _text(message: LLMMessage) -> str:
    content = getattr(message, "content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part for part in content if isinstance(part, str))
    return ""


def task_text(messages: Sequence[LLMMessage]) -> str | None:
    """The task a conversation serves: the last message from the user (``source="user"``), else its first user
    message (in a team, other agents' turns also arrive as user messages, with their names as source)."""
    users = [m for m in messages if isinstance(m, UserMessage) and _text(m).strip()]
    from_user = [m for m in users if m.source == "user"]
    if from_user:
        return _text(from_user[-1])
    return _text(users[0]) if users else None


class UsageTracking:
    """Token counters and declared capabilities, shared by this package's AutoGen clients."""

    def _init_tracking(self, model_info: ModelInfo | None) -> None:
        self._model_info = model_info or DEFAULT_MODEL_INFO
        self._last = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._total = RequestUsage(prompt_tokens=0, completion_tokens=0)

    def _count(self, usage: RequestUsage) -> None:
        self._last = usage
        self._total = RequestUsage(prompt_tokens=self._total.prompt_tokens + usage.prompt_tokens,
                                   completion_tokens=self._total.completion_tokens + usage.completion_tokens)

    def actual_usage(self) -> RequestUsage:
        return self._last

    def total_usage(self) -> RequestUsage:
        return self._total

    @property
    def capabilities(self) -> ModelInfo:
        return self._model_info

    @property
    def model_info(self) -> ModelInfo:
        return self._model_info


class ClientCache:
    """One AutoGen client per pool model, built once through the router's ``make_chat_model`` hook; a client that
    cannot be built is replaced by the router's default model's under fail-open (ModelBuildError without it)."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._builder = ClientBuilder(router, "autogen")

    def get(self, name: str) -> ChatCompletionClient:
        """The client of pool model ``name`` (ModelBuildError when it cannot be built)."""
        return self._builder.get(name)

    def get_or_default(self, name: str) -> tuple[str, ChatCompletionClient, str | None]:
        """``(model used, its client, why it replaced name or None)``: the default model's client when ``name``'s
        cannot be built and fail-open is on (one WARNING per model)."""
        client, why = self._builder.get_or_default(name)
        return (name if why is None else self.router.default_model), client, why

    async def close(self) -> None:
        """Close every client built so far."""
        for client in self._builder.built():
            await client.close()


class PoolClients(UsageTracking):
    """What this package's delegating AutoGen clients share: one client per pool model (built once by the router's
    ``make_chat_model`` hook), usage counters, and token estimates against their candidate models' windows."""

    router: Router

    def _init_clients(self, router: Router, model_info: ModelInfo | None) -> None:
        self.router = router
        self._cache = ClientCache(router)
        self._init_tracking(model_info)
        self.spent_usd = 0.0

    def _candidates(self) -> Sequence[str]:
        """The models a call may run on."""
        raise NotImplementedError

    def _client(self, name: str) -> ChatCompletionClient:
        return self._cache.get(name)

    async def close(self) -> None:
        """Close every client this one delegated to."""
        await self._cache.close()

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        """An estimate (about four characters a token): the model is not known before a call is made."""
        return sum(estimate_tokens(_text(m)) for m in messages)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        """Against the smallest context window of the models a call may run on."""
        window = min(self.router.pool[n].context_window for n in self._candidates())
        return max(0, window - self.count_tokens(messages, tools=tools))


class RoutedClientConfig(BaseModel):
    """Component config of :class:`RoutedChatCompletionClient`: the pool and the routing settings."""

    pool: list[dict[str, Any]]
    role: str = "agent"
    lam: float | None = None
    budget_usd: float | None = None
    default_model: str | None = None
    fail_open: bool = True
    load_entrypoints: bool = True
    model_info: ModelInfo | None = None


class RoutedChatCompletionClient(PoolClients, ChatCompletionClient, Component[RoutedClientConfig]):
    """A ``ChatCompletionClient`` that runs each call on the model the router picks for ``role``."""

    component_type = "model"
    component_config_schema = RoutedClientConfig
    component_provider_override = "router_plugins.adapters.autogen.RoutedChatCompletionClient"

    def __init__(
        self,
        router: Router,
        *,
        role: Role | str = "agent",
        options: PlanOptions | None = None,
        model_info: ModelInfo | None = None,
        query: Callable[[Sequence[LLMMessage]], Query | str | None] = task_text,
    ) -> None:
        if not isinstance(router, Router):
            raise ConfigError(f"RoutedChatCompletionClient needs a Router, got {type(router).__name__}")
        self._init_clients(router, model_info)
        self.role = Role.parse(role) if isinstance(role, str) else role
        self.options = PlanOptions.coerce(options)
        self._query = query
        self.last_plan: Plan | None = None
        #: Why the last call ran on the default model instead of the planned one (its client could not be built).
        self.last_fallback: str | None = None

    # -- routing -----------------------------------------------------------------------------------------------------
    def _candidates(self) -> Sequence[str]:
        return self.role.models or self.router.pool.names

    async def _route(self, messages: Sequence[LLMMessage]) -> tuple[str, ChatCompletionClient]:
        query = self._query(messages)
        if query is None:
            raise ConfigError("RoutedChatCompletionClient found no user message to route on: pass query=...")
        plan = await self.router.aplan(query, [self.role], self.options)
        self.last_plan = plan
        name, client, self.last_fallback = self._cache.get_or_default(plan.model_for(self.role.name)
                                                                       or self.router.default_model)
        return name, client

    def _charge(self, name: str, usage: RequestUsage) -> None:
        self._count(usage)
        self.spent_usd += self.router.pool[name].cost_usd(usage.prompt_tokens, usage.completion_tokens)

    # -- ChatCompletionClient ----------------------------------------------------------------------------------------
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
        """Plan this call and run it on the chosen model's client."""
        name, client = await self._route(messages)
        result = await client.create(messages, tools=tools, tool_choice=tool_choice, json_output=json_output,
                                     extra_create_args=extra_create_args, cancellation_token=cancellation_token)
        self._charge(name, result.usage)
        return result

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
        """Plan this call and stream it from the chosen model's client."""
        name, client = await self._route(messages)
        async for chunk in client.create_stream(messages, tools=tools, tool_choice=tool_choice,
                                                json_output=json_output, extra_create_args=extra_create_args,
                                                cancellation_token=cancellation_token):
            if isinstance(chunk, CreateResult):
                self._charge(name, chunk.usage)
            yield chunk

    # -- component config --------------------------------------------------------------------------------------------
    def _to_config(self) -> RoutedClientConfig:
        plugin_models = set(self.router.plugin_models)
        options = self.options.over(self.router.options)
        return RoutedClientConfig(
            pool=[c.model_dump(exclude_defaults=True) for c in self.router.pool if c.name not in plugin_models],
            role=self.role.name + ("?" if self.role.optional else ""),
            lam=options.lam,
            budget_usd=options.budget_usd,
            default_model=self.router.default_model,
            fail_open=self.router.fail_open,
            model_info=self._model_info,
        )

    @classmethod
    def _from_config(cls, config: RoutedClientConfig) -> RoutedChatCompletionClient:
        router = Router(ModelPool(config.pool), default_model=config.default_model, fail_open=config.fail_open,
                        load_entrypoints=config.load_entrypoints)
        return cls(router, role=config.role, options=PlanOptions(lam=config.lam, budget_usd=config.budget_usd),
                   model_info=config.model_info)


class EscalatingChatCompletionClient(PoolClients, ChatCompletionClient):
    """A ``ChatCompletionClient`` that runs an escalation cascade on every call: the escalation's first (cheapest)
    model answers, the router's ``judge_response`` hook rates the answer, and the next model is asked while the
    judge's confidence is below the step's threshold. Results that call functions are kept (judges rate answers); a
    cheap model whose call fails is skipped when fail-open is on. The kept result's ``usage`` is the sum over all
    calls, so AgentChat's ``models_usage`` shows what the answer really cost. No token streaming."""

    def __init__(
        self,
        router: Router,
        escalation: Escalation,
        *,
        model_info: ModelInfo | None = None,
        query: Callable[[Sequence[LLMMessage]], Query | str | None] = task_text,
        fail_open: bool | None = None,
    ) -> None:
        if not isinstance(router, Router):
            raise ConfigError(f"EscalatingChatCompletionClient needs a Router, got {type(router).__name__}")
        if not isinstance(escalation, Escalation):
            raise ConfigError(f"EscalatingChatCompletionClient needs an Escalation, got {type(escalation).__name__}")
        router.pool.require(escalation.models)
        self._init_clients(router, model_info)
        self.escalation, self._query, self.fail_open = escalation, query, fail_open
        self.last_result: EscalationResult | None = None

    def _candidates(self) -> Sequence[str]:
        return self.escalation.models

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
        """Call the cascade's models in order until the judge keeps an answer."""
        query = self._query(messages)
        if query is None:
            raise ConfigError("EscalatingChatCompletionClient found no user message to judge answers against")
        results: dict[str, CreateResult] = {}

        async def call(name: str) -> tuple[str, float]:
            try:
                result = await self._client(name).create(
                    messages, tools=tools, tool_choice=tool_choice, json_output=json_output,
                    extra_create_args=extra_create_args, cancellation_token=cancellation_token)
            except Exception as exc:
                return skip_failed_call(self.router, self.escalation, name, exc, fail_open=self.fail_open)
            results[name] = result
            usage = result.usage
            return (result.content if isinstance(result.content, str) else "",
                    self.router.pool[name].cost_usd(usage.prompt_tokens, usage.completion_tokens))

        judge = replies_judge(self.router, query, results, fail_open=self.fail_open,
                              calls_tools=lambda result: not isinstance(result.content, str))
        kept = self.last_result = await self.escalation.arun(call, judge)
        usage = RequestUsage(prompt_tokens=sum(r.usage.prompt_tokens for r in results.values()),
                             completion_tokens=sum(r.usage.completion_tokens for r in results.values()))
        self._count(usage)
        self.spent_usd += kept.cost_usd or 0.0
        return results[kept.model].model_copy(update={"usage": usage})

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
        """The kept answer as one chunk, then the result: an answer is shown only once the judge has kept it."""
        result = await self.create(messages, tools=tools, tool_choice=tool_choice, json_output=json_output,
                                   extra_create_args=extra_create_args, cancellation_token=cancellation_token)
        if isinstance(result.content, str):
            yield result.content
        yield result
