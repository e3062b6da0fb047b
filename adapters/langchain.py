"""LangChain v1 agents: ``RouterMiddleware`` routes every model call of a ``create_agent`` agent through a Router.

Each model call is planned on the agent's query (the last human message) with the budget that is left in this agent
run; the chosen model replaces the agent's with ``request.override(model=...)``. What a call cost (the recorded
``cost_usd`` of replay models, else ``usage_metadata`` tokens × the card's prices) is added to a private state field,
so the budget spans all calls of one run and survives checkpoints. Models must implement ``bind_tools``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NotRequired

from langchain.agents.middleware import AgentMiddleware, AgentState, ExtendedModelResponse, ModelRequest, ModelResponse
from langchain.agents.middleware.types import PrivateStateAttr
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.types import Command

from router_plugins.errors import BudgetError, ConfigError
from router_plugins.plan import Plan, RoleAssignment
from router_plugins.query import Query, Role
from router_plugins.router import Router

__all__ = ["RouterAgentState", "RouterMiddleware"]

#: Private agent-state field: USD spent by model calls so far in this agent run.
SPENT_KEY = "router_spent_usd"


class RouterAgentState(AgentState):
    """Agent state plus the run's spent budget (private: not in the agent's input or output)."""

    router_spent_usd: NotRequired[Annotated[float, PrivateStateAttr]]


def _last_human(messages: list[BaseMessage]) -> str:
    for msg in reversed(messages):
        if isinstance(msg, HumanMessage) and isinstance(msg.content, str) and msg.content.strip():
            return msg.content
    raise ConfigError("RouterMiddleware found no human message to route on: pass query=lambda request: ...")


class RouterMiddleware(AgentMiddleware):
    """Swaps the agent's model per call for the one the Router picks, under one budget per agent run."""

    state_schema = RouterAgentState

    def __init__(
        self,
        router: Router,
        *,
        role: Role | str = "agent",
        query: Callable[[ModelRequest], Query | str] | None = None,
        budget_usd: float | None = None,
        lam: float | None = None,
        framework: str = "langchain",
    ) -> None:
        super().__init__()
        self.router = router
        self.role = Role.parse(role) if isinstance(role, str) else role
        self.query = query or (lambda request: _last_human(request.messages))
        self.budget_usd = router.budget_usd if budget_usd is None else budget_usd
        self.lam = lam
        self.framework = framework
        self._models: dict[str, Any] = {}

    # -- budget across calls -------------------------------------------------------------------------------------
    def before_agent(self, state: Any, runtime: Any) -> dict[str, Any]:
        """Start each agent run with nothing spent."""
        return {SPENT_KEY: 0.0}

    async def abefore_agent(self, state: Any, runtime: Any) -> dict[str, Any]:
        """Async twin of ``before_agent``."""
        return {SPENT_KEY: 0.0}

    def _remaining(self, request: ModelRequest) -> tuple[float, float | None]:
        spent = float((request.state or {}).get(SPENT_KEY) or 0.0)
        return spent, None if self.budget_usd is None else self.budget_usd - spent

    def _exhausted(self, spent: float) -> Plan:
        reason = f"the run's budget ${self.budget_usd:.6g} is spent (${spent:.6g})"
        if not self.router.fail_open:
            raise BudgetError(reason + ": raise budget_usd or use fail_open=True to continue on the default model")
        return Plan(mode="fallback", roles=(RoleAssignment(self.role.name, self.router.default_model, "fallback"),),
                    fallback=True, reason=reason)

    def _model(self, name: str) -> Any:
        model = self._models.get(name)
        if model is None:
            model = self._models.setdefault(name, self.router.chat_model(name, self.framework))
        return model

    def _account(self, response: Any, plan: Plan, spent: float) -> ExtendedModelResponse:
        if isinstance(response, ExtendedModelResponse):
            response = response.model_response
        if isinstance(response, AIMessage):
            response = ModelResponse(result=[response])
        name = plan.model_for(self.role.name) or self.router.default_model
        cost = 0.0
        for msg in response.result:
            if isinstance(msg, AIMessage):
                cost += _call_cost(msg, self.router.pool[name])
                msg.response_metadata = {**(msg.response_metadata or {}), "router_model": name,
                                         "router_plan": plan.signature, "router_fallback": plan.fallback}
        return ExtendedModelResponse(model_response=response, command=Command(update={SPENT_KEY: spent + cost}))

    # -- the hooks ---------------------------------------------------------------------------------------------------
    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Any]) -> Any:
        """Plan this call, run it on the chosen model, and charge its cost to the run."""
        spent, remaining = self._remaining(request)
        if remaining is not None and remaining <= 0:
            plan = self._exhausted(spent)
        else:
            plan = self.router.plan(self.query(request), roles=[self.role], budget_usd=remaining, lam=self.lam)
        model = self._model(plan.model_for(self.role.name) or self.router.default_model)
        return self._account(handler(request.override(model=model)), plan, spent)

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[Any]]) -> Any:
        """Async twin of ``wrap_model_call`` (planning runs off the event loop)."""
        spent, remaining = self._remaining(request)
        if remaining is not None and remaining <= 0:
            plan = self._exhausted(spent)
        else:
            plan = await self.router.aplan(self.query(request), roles=[self.role], budget_usd=remaining, lam=self.lam)
        model = self._model(plan.model_for(self.role.name) or self.router.default_model)
        return self._account(await handler(request.override(model=model)), plan, spent)


def _call_cost(message: AIMessage, card: Any) -> float:
    """USD of one reply: the recorded cost when the model reports one, else its token usage at the card's prices."""
    recorded = (message.response_metadata or {}).get("cost_usd")
    if isinstance(recorded, (int, float)) and math.isfinite(recorded):
        return float(recorded)
    usage = message.usage_metadata or {}
    return card.cost_usd(usage.get("input_tokens", 0), usage.get("output_tokens", 0))
