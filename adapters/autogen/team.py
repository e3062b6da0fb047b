"""AutoGen AgentChat agent factory: ``routed_team`` plans each task once, builds only the agents of kept roles, each
on its planned model's client, and hands them to ``team`` (RoundRobinGroupChat, SelectorGroupChat, Swarm, ...). A
team is built fresh per task, as AutoGen requires (a team that has run keeps its topics).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from autogen_core.models import ChatCompletionClient

from router_plugins.adapters.autogen.clients import ClientCache
from router_plugins._unmatched import WarnOnce, report_unmatched, unmatched_message
from router_plugins.errors import ConfigError
from router_plugins.options import PlanOptions
from router_plugins.plan import Plan
from router_plugins.query import Query, Role
from router_plugins.router import Router

__all__ = ["AgentFactory", "RoutedTeam", "TeamFactory", "routed_team"]


#: ``factory(model_client) -> agent`` for one role, or ``factory(model_client, kept_roles)`` for agents that name
#: others (a Swarm agent's ``handoffs`` should only list kept roles).
AgentFactory = Callable[..., Any]
#: ``team(participants, clients_by_role) -> team`` (RoundRobinGroupChat, SelectorGroupChat, ...).
TeamFactory = Callable[[list[Any], Mapping[str, ChatCompletionClient]], Any]


@dataclass
class RoutedTeam:
    """Plans each task, builds the team of the kept agents on their planned models, and runs it."""

    router: Router
    agents: Mapping[str, AgentFactory]
    team: TeamFactory
    roles: tuple[Role, ...]
    options: PlanOptions = field(default_factory=PlanOptions)
    last_plan: Plan | None = None
    #: Names given in ``routed_team(roles=...)`` that match no agent (ignored; strict=True raises) → why.
    unmatched: dict[str, str] = field(default_factory=dict)
    #: Role → why it ran on the default model in the last team built (its planned model's client failed to build).
    model_fallbacks: dict[str, str] = field(default_factory=dict)
    _cache: ClientCache = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._cache = ClientCache(self.router)

    def client(self, model: str) -> ChatCompletionClient:
        """The client of one pool model, built once through the router's ``make_chat_model`` hook."""
        return self._cache.get(model)

    async def plan(self, task: Query | str) -> Plan:
        """The plan for one task (fail-open: every role on the default model when planning fails)."""
        return await self.router.aplan(task, list(self.roles), self.options)

    def build(self, plan: Plan) -> Any:
        """A fresh team of the agents whose roles the plan kept, each on its planned model's client."""
        clients: dict[str, ChatCompletionClient] = {}
        self.model_fallbacks = {}
        for role, model in plan.assignments.items():
            if model is not None:
                _, clients[role], why = self._cache.get_or_default(model)
                if why is not None:
                    self.model_fallbacks[role] = why
        kept = frozenset(clients)
        participants = [_build_agent(factory, clients[role], kept) for role, factory in self.agents.items()
                        if role in clients]
        if not participants:
            raise ConfigError(f"the plan kept none of the agents {list(self.agents)}: make at least one role required")
        return self.team(participants, clients)

    async def run(self, *, task: str, query: Query | str | None = None, **kwargs: Any) -> Any:
        """Plan ``query`` (default: the task text; pass a ``Query`` to give its task family), build the team and
        run ``task`` (``TaskResult``); the plan is kept in ``last_plan``."""
        self.last_plan = plan = await self.plan(task if query is None else query)
        return await self.build(plan).run(task=task, **kwargs)

    async def run_stream(self, *, task: str, query: Query | str | None = None, **kwargs: Any) -> AsyncGenerator[Any, None]:
        """``run`` as AutoGen's message stream (its last item is the ``TaskResult``)."""
        self.last_plan = plan = await self.plan(task if query is None else query)
        async for item in self.build(plan).run_stream(task=task, **kwargs):
            yield item

    def cost_usd(self, result: Any, plan: Plan | None = None) -> float:
        """USD of a run: each message's token usage at the price of the model its agent ran on."""
        plan = plan or self.last_plan
        if plan is None:
            raise ConfigError("no plan: run a task first or pass plan=")
        total = 0.0
        fell_back = self.model_fallbacks if plan is self.last_plan else {}
        for msg in getattr(result, "messages", []):
            source = getattr(msg, "source", "")
            usage = getattr(msg, "models_usage", None)
            model = self.router.default_model if source in fell_back else plan.assignments.get(source)
            if usage is not None and model is not None:
                total += self.router.pool[model].cost_usd(usage.prompt_tokens, usage.completion_tokens)
        return total

    async def close(self) -> None:
        """Close the model clients built for the teams."""
        await self._cache.close()


def _build_agent(factory: AgentFactory, client: ChatCompletionClient, kept: frozenset[str]) -> Any:
    """Call a role's factory with its client, and with the kept roles when it takes a second argument."""
    try:
        params = [p for p in inspect.signature(factory).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    except (TypeError, ValueError):  # builtins and some callables have no signature: one argument
        params = []
    takes_kept = len(params) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)
    return factory(client, kept) if takes_kept else factory(client)


_warn = WarnOnce()


def routed_team(
    router: Router,
    agents: Mapping[str, AgentFactory],
    team: TeamFactory,
    *,
    roles: Mapping[str, bool | Mapping[str, Any]] | None = None,
    client_roles: Mapping[str, bool | Mapping[str, Any]] | None = None,
    options: PlanOptions | None = None,
    strict: bool = False,
) -> RoutedTeam:
    """The AutoGen agent factory: one role per agent (``agents`` maps role → ``factory(model_client)``, or
    ``factory(model_client, kept_roles)`` to see which agents run, e.g. for a Swarm agent's ``handoffs``; the role
    name should be the agent's name so ``cost_usd`` can attribute its messages). ``roles`` adds Role fields per agent
    (``{"critic": {"optional": True}}``); a name there that is no agent is a typo: WARNING once and ignored
    (``strict=True``: ConfigError). ``client_roles`` declares roles that are no agent, such as a SelectorGroupChat's
    ``"selector"``, whose planned client ``team`` receives in ``clients_by_role``. ``options`` override the router's
    planning settings (λ, budget, modes) for this team."""
    if not agents:
        raise ConfigError("routed_team needs at least one agent factory")
    declared = dict(roles or {})
    extra = dict(client_roles or {})
    unmatched: dict[str, str] = {}
    for name in [r for r in declared if r not in agents]:
        unmatched[name] = unmatched_message(
            "routed_team(roles=...): role", name, agents,
            "roles= takes agent names; declare roles that are no agent with client_roles={...}")
        report_unmatched(unmatched[name], strict=strict, warn=_warn, key=(id(router), tuple(agents), name))
    clash = sorted(set(extra) & set(agents))
    if clash:
        raise ConfigError(f"routed_team(client_roles=...) names agent(s) {clash}: give their fields in roles= instead")
    specs: dict[str, dict[str, Any]] = {}
    for name in [*agents, *extra]:
        spec = extra[name] if name in extra else declared.get(name, True)
        if spec is False:
            continue
        if spec is not True and not isinstance(spec, Mapping):
            raise ConfigError(f"routed_team(roles=/client_roles=...): role {name!r} must map to True or a dict of "
                              "Role fields")
        specs[name] = {} if spec is True else dict(spec)
    try:
        parsed = tuple(Role(name, **fields) for name, fields in specs.items())
    except TypeError as exc:
        raise ConfigError(f"routed_team(roles=...): {exc}") from None
    router.pool.require(m for r in parsed for m in (r.models or ()))
    return RoutedTeam(router, dict(agents), team, parsed, options=PlanOptions.coerce(options), unmatched=unmatched)
