"""LangGraph adapter: ``@routed`` plans every run of a ``StateGraph``, prunes nodes and gives each node its model.

A node says how it may be routed in its metadata::

    builder.add_node("critic", critic, metadata={"router": {"role": "critic", "optional": True, "models": [...]}})

``routed(builder, router=..., query=...)`` (or ``@routed(router, query=...)`` on a function returning a builder)
returns a ``StateGraph`` whose ``compile()`` gives a :class:`RoutedCompiledStateGraph`. Each ``invoke`` /
``ainvoke`` / ``stream`` / ``astream`` / ``batch`` input is planned by the Router; pruned nodes are removed from a
per-structure compiled variant (bounded LRU), and nodes read their model with :func:`routed_model`. The plan travels
in the run config (``configurable`` for the models, ``metadata`` and ``tags`` for traces and checkpoints), never
in globals. A resumed thread (input ``None`` or a ``Command``) reuses the plan stored in its checkpoint metadata.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from router_plugins.adapters.langgraph._binding import BINDING_KEY, QueryFn, RouteBinding, default_query
from router_plugins.adapters.langgraph._compat import merge_configs, swap_class
from router_plugins.adapters.langgraph._handoff import guard_runnables
from router_plugins.adapters.langgraph._rewire import GraphTemplate, build_variant, snapshot
from router_plugins.adapters.langgraph._roles import METADATA_KEY, read_roles

from router_plugins._model_build import ClientBuilder
from router_plugins._redact import redact
from router_plugins.errors import ConfigError, ModelBuildError
from router_plugins.options import PlanOptions
from router_plugins.plan import Plan
from router_plugins.query import Query, Role
from router_plugins.router import Router

__all__ = ["METADATA_KEY", "PLAN_KEY", "RoutedCompiledStateGraph", "RoutedStateGraph", "routed"]

log = logging.getLogger("router_plugins")

#: Run-metadata key of the plan JSON; LangGraph copies string run metadata into every checkpoint's metadata.
PLAN_KEY = "router_plan"


# --- routing state of one compiled graph ----------------------------------------------------------------------------
@dataclass
class _RunSetup:
    plan: Plan | None
    target: CompiledStateGraph | None  # None: run the full graph itself
    config: RunnableConfig
    pruned: tuple[str, ...] = ()


@dataclass
class GraphRouting:
    """The routing state of one routed compiled graph; lives on its class so ``with_config()`` / ``copy()`` keep it."""

    router: Router
    query: QueryFn
    template: GraphTemplate
    options: PlanOptions
    route_unannotated: bool = False
    cache_size: int = 32
    framework: str = "langchain"
    declared: Mapping[str, Any] = field(default_factory=dict)
    node_roles: dict[str, str] = field(init=False)
    roles: tuple[Role, ...] = field(init=False)
    forced_required: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self._variants: OrderedDict[Any, CompiledStateGraph] = OrderedDict()
        self.clients = ClientBuilder(self.router, self.framework)
        self._lock = threading.Lock()
        read = read_roles(self.template, self.declared, self.route_unannotated)
        self.node_roles, self.roles, self.forced_required, self.detached = read

    # -- models ------------------------------------------------------------------------------------------------------
    def chat_model(self, name: str) -> Any:
        """The client of one pool model, built once through the router's ``make_chat_model`` hook
        (ModelBuildError when it cannot be built)."""
        return self.clients.get(name)

    def build_failures(self, plan: Plan) -> dict[str, str]:
        """Model → why its client cannot be built, for the models the plan uses (built now, before the run starts,
        so a failure is known up front: raised when fail-open is off, else recorded in the run metadata)."""
        failures: dict[str, str] = {}
        for name in dict.fromkeys(m for m in plan.assignments.values() if m is not None):
            try:
                self.chat_model(name)
            except ModelBuildError as exc:
                if not self.router.fail_open:
                    raise
                failures[name] = str(exc)
                self.clients.warn(name, f"{exc}; its nodes use their default model")
        return failures

    # -- variants ----------------------------------------------------------------------------------------------------
    def pruned_nodes(self, plan: Plan) -> tuple[str, ...]:
        """The graph nodes whose role the plan prunes."""
        assigned = plan.assignments
        return tuple(n for n, r in self.node_roles.items() if r in assigned and assigned[r] is None)

    def variant(self, graph: CompiledStateGraph, pruned: Sequence[str]) -> CompiledStateGraph:
        """The compiled graph without ``pruned`` (cached per pruned set and compile settings, bounded LRU)."""
        before = _interrupts(graph.interrupt_before_nodes, pruned)
        after = _interrupts(graph.interrupt_after_nodes, pruned)
        key = (frozenset(pruned), id(graph.checkpointer), id(graph.store), id(graph.cache), str(before), str(after))
        with self._lock:
            hit = self._variants.get(key)
            if hit is not None:
                self._variants.move_to_end(key)
                return hit
        detached = [n for n in pruned if n in self.detached]
        runnables = guard_runnables(self.template, detached) if detached else None
        compiled = build_variant(self.template, pruned, detached=detached, runnables=runnables).compile(
            checkpointer=graph.checkpointer,
            store=graph.store,
            cache=graph.cache,
            interrupt_before=before,
            interrupt_after=after,
            debug=graph.debug,
            name=graph.name,
            transformers=list(graph.stream_transformers) or None,
        )
        compiled.step_timeout = graph.step_timeout
        compiled.retry_policy = graph.retry_policy
        with self._lock:
            self._variants[key] = compiled
            while len(self._variants) > self.cache_size:
                self._variants.popitem(last=False)
        return compiled

    @property
    def cached_variants(self) -> int:
        """How many compiled variants the LRU holds."""
        return len(self._variants)

    # -- planning ----------------------------------------------------------------------------------------------------
    def fallback(self, reason: str) -> Plan:
        """Every role on the router's default model: the unrouted graph runs (fail-open)."""
        return self.router.default_plan(self.roles, reason)

    def _target(self, graph: CompiledStateGraph, plan: Plan) -> tuple[CompiledStateGraph | None, str | None]:
        """The compiled variant that runs ``plan`` (None: the full graph), or (None, why) when it cannot be built
        and the router fails open."""
        pruned = self.pruned_nodes(plan)
        if not pruned:
            return None, None
        try:
            return self.variant(graph, pruned), None
        except Exception as exc:  # a joint contraction can fail where each node alone could be pruned
            if not self.router.fail_open:
                raise
            return None, redact(f"could not rewrite the graph without {list(pruned)}: {type(exc).__name__}: {exc}")

    def _kept_roles(self) -> list[Role]:
        """Every role required: the plan for the full graph when a pruned variant cannot be built."""
        return [replace(r, optional=False) for r in self.roles]

    def _finish(self, graph: CompiledStateGraph, plan: Plan, target: CompiledStateGraph | None,
                config: RunnableConfig | None, failure: str | None = None) -> _RunSetup:
        if failure is not None:
            log.warning("router_plugins: %s; re-planned with every node kept", failure)
        elif plan.fallback:
            log.warning("router_plugins: planning failed, running the unrouted graph: %s", plan.reason)
        pruned = self.pruned_nodes(plan) if target is not None else ()
        if target is not None:
            config = merge_configs(graph.config, config)
        return _RunSetup(plan, target, self._run_config(plan, pruned, config, failure), pruned)

    def _run_config(self, plan: Plan, pruned: Sequence[str], config: RunnableConfig | None,
                    failure: str | None = None) -> RunnableConfig:
        cfg: dict[str, Any] = dict(config or {})
        binding = RouteBinding(plan, dict(self.node_roles), self)
        cfg["configurable"] = {**(cfg.get("configurable") or {}), BINDING_KEY: binding}
        meta = {
            PLAN_KEY: plan.to_json(),
            "router_plan_signature": plan.signature,
            "router_pruned": ",".join(pruned),
            "router_models": json.dumps({n: plan.assignments.get(r) for n, r in self.node_roles.items()}),
            "router_fallback": plan.fallback,
        }
        if plan.fallback:
            meta["router_fallback_reason"] = plan.reason
        if failure is not None:
            meta["router_rewrite_failure"] = failure
        if self.forced_required:
            meta["router_kept_required"] = json.dumps(self.forced_required)
        failures = self.build_failures(plan)
        if failures:
            meta["router_model_fallbacks"] = json.dumps(failures)
        cfg["metadata"] = {**(cfg.get("metadata") or {}), **meta}
        tags = ["router_plugins", f"router_plan:{plan.signature}"] + (["router_fallback"] if plan.fallback else [])
        cfg["tags"] = [*(cfg.get("tags") or []), *tags]
        return cfg

    def _query(self, input: Any) -> Query | str:
        return self.query(input)

    def prepare(self, graph: CompiledStateGraph, input: Any, config: RunnableConfig | None) -> _RunSetup:
        """Plan one input (or reuse a resumed thread's plan) and pick the graph variant that runs it."""
        if not self.roles:
            return _RunSetup(None, None, dict(config or {}))
        plan = self._stored_plan(graph, input, config)
        query = None
        if plan is None:
            query = self._query(input)
            plan = self.router.plan(query, self.roles, self.options)
        target, failure = self._target(graph, plan)
        if failure is not None:  # keep the budget: re-plan the full graph rather than put every node on the default
            plan = self.fallback(failure) if query is None else self.router.plan(query, self._kept_roles(), self.options)
        return self._finish(graph, plan, target, config, failure)

    async def aprepare(self, graph: CompiledStateGraph, input: Any, config: RunnableConfig | None) -> _RunSetup:
        """``prepare`` without blocking the event loop."""
        if not self.roles:
            return _RunSetup(None, None, dict(config or {}))
        plan = await self._astored_plan(graph, input, config)
        query = None
        if plan is None:
            query = self._query(input)
            plan = await self.router.aplan(query, self.roles, self.options)
        target, failure = self._target(graph, plan)
        if failure is not None:
            plan = (self.fallback(failure) if query is None else
                    await self.router.aplan(query, self._kept_roles(), self.options))
        return self._finish(graph, plan, target, config, failure)

    # -- resume ------------------------------------------------------------------------------------------------------
    def _resume_lookup(self, graph: CompiledStateGraph, input: Any, config: RunnableConfig | None) -> tuple[Any, Any]:
        if input is not None and not isinstance(input, Command):
            return None, None
        conf = (config or {}).get("configurable") or {}
        saver = graph.checkpointer
        if saver in (None, True, False):
            saver = conf.get("__pregel_checkpointer")
        if saver in (None, True, False) or "thread_id" not in conf:
            return None, None
        keys = ("thread_id", "checkpoint_ns", "checkpoint_id")
        return saver, {"configurable": {k: conf[k] for k in keys if k in conf}}

    def _plan_from(self, saved: Any) -> Plan:
        text = (saved.metadata or {}).get(PLAN_KEY) if saved is not None else None
        if not text:
            return self.fallback("resumed a thread that has no stored plan: running the unrouted graph")
        return Plan.from_json(text)

    def _stored_plan(self, graph: CompiledStateGraph, input: Any, config: RunnableConfig | None) -> Plan | None:
        saver, key = self._resume_lookup(graph, input, config)
        return None if saver is None else self._plan_from(saver.get_tuple(key))

    async def _astored_plan(self, graph: CompiledStateGraph, input: Any, config: RunnableConfig | None) -> Plan | None:
        saver, key = self._resume_lookup(graph, input, config)
        return None if saver is None else self._plan_from(await saver.aget_tuple(key))


def _interrupts(nodes: Any, pruned: Sequence[str]) -> Any:
    if nodes == "*" or not nodes:
        return nodes or None
    return [n for n in nodes if n not in pruned] or None


def _filter_call_interrupts(kwargs: dict[str, Any], pruned: Sequence[str]) -> dict[str, Any]:
    for key in ("interrupt_before", "interrupt_after"):
        if pruned and kwargs.get(key) not in (None, "*"):
            kwargs[key] = [n for n in kwargs[key] if n not in pruned]
    return kwargs


# --- the compiled graph -----------------------------------------------------------------------------------------------
class RoutedCompiledStateGraph(CompiledStateGraph):
    """A ``CompiledStateGraph`` that plans each input; its routing state is a class attribute of a per-graph subclass,
    because LangGraph's ``with_config()`` / ``copy()`` rebuild instances from ``__dict__`` and drop extra attributes."""

    _routing: ClassVar[GraphRouting]

    @property
    def routing(self) -> GraphRouting:
        """The router, roles and variant cache of this graph."""
        return type(self)._routing

    def plan_for(self, input: Any, config: RunnableConfig | None = None) -> Plan | None:
        """The plan an ``invoke(input, config)`` would run (None when no node is routed); runs nothing."""
        return self.routing.prepare(self, input, config).plan

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        """Plan the input, then stream the graph variant of the plan (covers invoke and batch)."""
        setup = self.routing.prepare(self, input, config)
        if setup.target is None:
            return super().stream(input, setup.config, **kwargs)
        return setup.target.stream(input, setup.config, **_filter_call_interrupts(kwargs, setup.pruned))

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        """Plan the input without blocking, then stream the plan's variant (covers ainvoke and abatch)."""
        setup = await self.routing.aprepare(self, input, config)
        if setup.target is None:
            stream = super().astream(input, setup.config, **kwargs)
        else:
            stream = setup.target.astream(input, setup.config, **_filter_call_interrupts(kwargs, setup.pruned))
        async for chunk in stream:
            yield chunk


# --- the builder --------------------------------------------------------------------------------------------------
class RoutedStateGraph(StateGraph):
    """A copy of the user's builder whose ``compile()`` returns a :class:`RoutedCompiledStateGraph`."""

    _route_options: dict[str, Any]

    def compile(self, checkpointer: Any = None, **kwargs: Any) -> RoutedCompiledStateGraph:  # type: ignore[override]
        """Compile like ``StateGraph.compile``; the result plans every run."""
        template = snapshot(self)
        routing = GraphRouting(template=template, **self._route_options)
        compiled = build_variant(template, ()).compile(checkpointer, **kwargs)
        cls = type("RoutedCompiledStateGraph", (RoutedCompiledStateGraph,), {"_routing": routing, "__module__": __name__})
        swap_class(compiled, cls)
        return compiled  # type: ignore[return-value]


def _route_builder(builder: Any, options: dict[str, Any]) -> RoutedStateGraph:
    if isinstance(builder, CompiledStateGraph):
        builder = builder.builder
    if not isinstance(builder, StateGraph):
        raise ConfigError(f"routed() needs a StateGraph builder, got {type(builder).__name__}")
    graph = build_variant(snapshot(builder), (), cls=RoutedStateGraph)
    graph._route_options = options
    return graph  # type: ignore[return-value]


def routed(
    target: Any = None,
    /,
    *,
    router: Router | None = None,
    query: QueryFn | None = None,
    options: PlanOptions | None = None,
    route_unannotated: bool = False,
    cache_size: int = 32,
    framework: str = "langchain",
    roles: Mapping[str, Mapping[str, Any] | bool] | None = None,
) -> Any:
    """Route a LangGraph app: ``routed(builder, router=r, query=f)`` or ``@routed(r, query=f)`` on a builder factory.

    Nodes without router metadata run unrouted unless ``route_unannotated`` (then they are required roles).
    ``roles`` maps node name → router declaration (``True`` or a dict like node metadata's, merged over it): the way
    to route a prebuilt graph (``create_supervisor``, ``create_swarm``) whose node metadata you cannot set.
    ``options`` (a :class:`PlanOptions`) override the router's for this graph; ``cache_size`` bounds the compiled
    variants kept.
    """
    if isinstance(target, Router):
        if router is not None:
            raise ConfigError("routed(): the router was given twice")
        router, target = target, None
    if router is None:
        raise ConfigError("routed() needs a Router: routed(builder, router=r) or @routed(r)")
    if cache_size < 1:
        raise ConfigError(f"cache_size must be ≥ 1, got {cache_size}")
    options = dict(
        router=router,
        query=query or default_query,
        options=PlanOptions.coerce(options),
        route_unannotated=route_unannotated,
        cache_size=cache_size,
        framework=framework,
        declared=dict(roles or {}),
    )
    if target is not None:
        return _route_builder(target, options)

    def decorate(factory: Callable[..., Any]) -> Callable[..., RoutedStateGraph]:
        @functools.wraps(factory)
        def build(*args: Any, **kwargs: Any) -> RoutedStateGraph:
            return _route_builder(factory(*args, **kwargs), options)

        return build

    return decorate
