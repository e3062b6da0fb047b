"""LangChain v1 agents: ``RouterMiddleware`` routes every model call of a ``create_agent`` agent through a Router.

Each model call is planned on the agent's query (the last human message) with the budget that is left in this agent
run; the chosen model replaces the agent's with ``request.override(model=...)``. What a call cost (the recorded
``cost_usd`` of replay models, else ``usage_metadata`` tokens × the card's prices) is added to a private state field,
so the budget spans all calls of one run and survives checkpoints. Models must implement ``bind_tools``.

With ``escalation=Escalation(...)`` each model call runs the cascade instead of a plan: cheapest model first, the next
one while the router's ``judge_response`` hook doubts the reply (replies that call tools are kept); every attempt is
charged to the run's budget.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, NotRequired

from langchain.agents.middleware import AgentMiddleware, AgentState, ExtendedModelResponse, ModelRequest, ModelResponse
from langchain.agents.middleware.types import PrivateStateAttr
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.types import Command
from router_plugins.adapters.langchain._messages import as_ai_message, last_human_text, message_text, reply_cost
from router_plugins.adapters.langchain.escalating import escalation_metadata, reply_judge

from router_plugins._model_build import ClientBuilder
from router_plugins.errors import BudgetError, ConfigError
from router_plugins.escalation import Escalation, skip_failed_call
from router_plugins.options import PlanOptions
from router_plugins.plan import Plan
from router_plugins.query import Query, Role
from router_plugins.router import Router

__all__ = ["RouterAgentState", "RouterMiddleware"]

#: Private agent-state field: USD spent by model calls so far in this agent run.
SPENT_KEY = "router_spent_usd"


class RouterAgentState(AgentState):
    """Agent state plus the run's spent budget (private: not in the agent's input or output)."""

    router_spent_usd: NotRequired[Annotated[float, PrivateStateAttr]]


def _last_human(messages: Sequence[BaseMessage]) -> str:
    text = last_human_text(messages)
    if text is None:
        raise ConfigError("RouterMiddleware found no human message to route on: pass query=lambda request: ...")
    return text


class RouterMiddleware(AgentMiddleware):
    """Swaps the agent's model per call for the one the Router picks, under one budget per agent run."""

    state_schema = RouterAgentState

    def __init__(
        self,
        router: Router,
        *,
        role: Role | str = "agent",
        query: Callable[[ModelRequest], Query | str] | None = None,
        options: PlanOptions | None = None,
        framework: str = "langchain",
        escalation: Escalation | None = None,
    ) -> None:
        super().__init__()
        if escalation is not None:
            if not isinstance(escalation, Escalation):
                raise ConfigError(f"escalation must be an Escalation, got {type(escalation).__name__}")
            router.pool.require(escalation.models)
        self.router = router
        self.role = Role.parse(role) if isinstance(role, str) else role
        self.query = query or (lambda request: _last_human(request.messages))
        #: Planning settings; ``budget_usd`` is the budget of one whole agent run (every model call together).
        self.options = PlanOptions.coerce(options).over(router.options)
        self.framework = framework
        self.escalation = escalation
        self._clients = ClientBuilder(router, framework)

    # -- budget across calls -------------------------------------------------------------------------------------
    def before_agent(self, state: Any, runtime: Any) -> dict[str, Any]:
        """Start each agent run with nothing spent."""
        return {SPENT_KEY: 0.0}

    async def abefore_agent(self, state: Any, runtime: Any) -> dict[str, Any]:
        """Async twin of ``before_agent``."""
        return {SPENT_KEY: 0.0}

    def _remaining(self, request: ModelRequest) -> tuple[float, float | None]:
        spent = float((request.state or {}).get(SPENT_KEY) or 0.0)  # type: ignore[arg-type]
        return spent, None if self.options.budget_usd is None else self.options.budget_usd - spent

    def _exhausted(self, spent: float) -> Plan:
        reason = f"the run's budget ${self.options.budget_usd:.6g} is spent (${spent:.6g})"
        if not self.router.fail_open:
            raise BudgetError(reason + ": raise budget_usd or use fail_open=True to continue on the default model")
        return self.router.default_plan([self.role], reason)

    def _model(self, name: str) -> Any:
        return self._clients.get(name)

    def _planned_model(self, plan: Plan, request: ModelRequest) -> tuple[str, Any, str | None]:
        """The plan's model for this call; the agent's own model (and why) when its client cannot be built."""
        name = plan.model_for(self.role.name) or self.router.default_model
        model, why = self._clients.get_or_default(name, request.model)
        return name, model, why

    def _account(self, response: Any, spent: float, name: str, metadata: dict[str, Any],
                 cost: float | None = None) -> ExtendedModelResponse:
        """Tag the reply with how it was routed and charge ``cost`` (default: what its messages report) to the run."""
        response = _model_response(response)
        if cost is None:
            cost = sum(reply_cost(m, self.router.pool[name]) for m in response.result if isinstance(m, AIMessage))
        for msg in response.result:
            if isinstance(msg, AIMessage):
                msg.response_metadata = {**(msg.response_metadata or {}), **metadata}
        return ExtendedModelResponse(model_response=response, command=Command(update={SPENT_KEY: spent + cost}))

    def _planned(self, response: Any, plan: Plan, spent: float, name: str, why: str | None) -> ExtendedModelResponse:
        meta: dict[str, Any] = {"router_model": name, "router_plan": plan.signature, "router_fallback": plan.fallback}
        if why is not None:  # ran on the agent's own model: say so, and bill it at the planned card's prices
            meta["router_model_fallback"] = why
        return self._account(response, spent, name, meta)

    def _escalation_call(self, name: str, response: Any, responses: dict[str, Any],
                         replies: dict[str, AIMessage]) -> tuple[str, float]:
        """Keep one model's response of an escalation; its text and cost for the judge and the bill."""
        responses[name] = response
        reply = replies[name] = _last_ai(_model_response(response))
        return message_text(reply), reply_cost(reply, self.router.pool[name])

    def _escalated(self, result: Any, responses: dict[str, Any], spent: float) -> ExtendedModelResponse:
        return self._account(responses[result.model], spent, result.model, escalation_metadata(result),
                             cost=result.cost_usd)

    # -- the hooks ---------------------------------------------------------------------------------------------------
    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Any]) -> Any:
        """Plan this call (or run the escalation), run it on the chosen model, and charge its cost to the run."""
        spent, remaining = self._remaining(request)
        if remaining is not None and remaining <= 0:
            plan = self._exhausted(spent)
        elif self.escalation is not None:
            responses: dict[str, Any] = {}
            replies: dict[str, AIMessage] = {}

            def call(name: str) -> tuple[str, float]:
                try:
                    out = handler(request.override(model=self._model(name)))
                except Exception as exc:
                    return skip_failed_call(self.router, self.escalation, name, exc)  # type: ignore[arg-type]
                return self._escalation_call(name, out, responses, replies)

            result = self.escalation.run(call, reply_judge(self.router, self.query(request), replies))
            return self._escalated(result, responses, spent)
        else:
            plan = self.router.plan(self.query(request), [self.role], self.options.but(budget_usd=remaining))
        name, model, why = self._planned_model(plan, request)
        return self._planned(handler(request.override(model=model)), plan, spent, name, why)

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[Any]]) -> Any:
        """Async twin of ``wrap_model_call`` (planning runs off the event loop)."""
        spent, remaining = self._remaining(request)
        if remaining is not None and remaining <= 0:
            plan = self._exhausted(spent)
        elif self.escalation is not None:
            responses: dict[str, Any] = {}
            replies: dict[str, AIMessage] = {}

            async def call(name: str) -> tuple[str, float]:
                try:
                    out = await handler(request.override(model=self._model(name)))
                except Exception as exc:
                    return skip_failed_call(self.router, self.escalation, name, exc)  # type: ignore[arg-type]
                return self._escalation_call(name, out, responses, replies)

            result = await self.escalation.arun(call, reply_judge(self.router, self.query(request), replies))
            return self._escalated(result, responses, spent)
        else:
            plan = await self.router.aplan(self.query(request), [self.role], self.options.but(budget_usd=remaining))
        name, model, why = self._planned_model(plan, request)
        return self._planned(await handler(request.override(model=model)), plan, spent, name, why)


def _model_response(response: Any) -> ModelResponse:
    """A handler's result as a ModelResponse (handlers may return one, an AIMessage, or an extended response)."""
    if isinstance(response, ExtendedModelResponse):
        response = response.model_response
    if isinstance(response, AIMessage):
        response = ModelResponse(result=[response])
    return response


def _last_ai(response: ModelResponse) -> AIMessage:
    """The reply a judge rates: the last AI message of the response."""
    return next((as_ai_message(m) for m in reversed(response.result) if isinstance(m, AIMessage)), AIMessage(""))
