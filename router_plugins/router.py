"""The Router: the one entry point. It validates input and orchestrates the hooks; plugins make every decision."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from router_plugins._assembly import assemble, check_budget, fallback_plan, reprice
from router_plugins._hookcall import first_result
from router_plugins._plugins import make_plugin_manager
from router_plugins._redact import redact
from router_plugins._timeout import TimedCalls
from router_plugins.cards import ModelCard, ModelPool, warn_unknown_task_keys
from router_plugins.context import Decision, GuardDecision, PlanContext
from router_plugins.errors import (
    ConfigError,
    PlanningError,
    QueryRejectedError,
    RouterError,
    ScorerError,
    UnknownModelError,
)
from router_plugins.escalation import Attempt, Caller, Escalation, EscalationResult, check_confidence, split_response
from router_plugins.modes import Mode
from router_plugins.options import PlanOptions
from router_plugins.outcome import Outcome
from router_plugins.plan import Plan, RoleAssignment
from router_plugins.planner import Candidate
from router_plugins.query import DEFAULT_ROLE, Query, Role

log = logging.getLogger("router_plugins")
#: The confidence an escalation uses when no judge plugin has an opinion: undecided.
NO_OPINION = 0.5
#: Planning calls still running past their timeout beyond which new timed calls fail fast (fail-open applies).
MAX_HUNG_PLANS = 16

RoleSpec = Role | str


class Router:
    """Plans which roles run and which model each uses, under a cost budget, for one query at a time.

    ``lam``, ``budget_usd``, ``max_latency_s``, ``modes``, ``timeout_s`` and ``fail_open`` are the router's
    :class:`PlanOptions`; each call or adapter may override them with its own. ``plugins`` adds plugin objects;
    ``disable_plugins`` names built-in or installed plugins to leave out (e.g. ``"router_plugins.scorer.plugin"`` to
    route on card priors only). ``fail_open``: when planning fails at run time (scorer error, NaN scores, timeout, a
    failing plugin) return a fallback plan that says why instead of raising. Bad input (empty query, unknown model,
    malformed roles) and a budget that no plan fits always raise.
    """

    def __init__(
        self,
        pool: ModelPool | Iterable[ModelCard] | str | Path | None = None,
        *,
        lam: float = 0.0,
        budget_usd: float | None = None,
        max_latency_s: float | None = None,
        modes: Sequence[str] | None = None,
        default_model: str | None = None,
        fail_open: bool = True,
        timeout_s: float | None = None,
        plugins: Iterable[Any] = (),
        load_entrypoints: bool = True,
        disable_plugins: Iterable[str] = (),
    ) -> None:
        self.pm = make_plugin_manager(plugins, load_entrypoints=load_entrypoints, disable=disable_plugins)
        cards: list[ModelCard] = []
        if isinstance(pool, (str, Path)):
            cards = list(ModelPool.from_file(pool))
        elif pool is not None:
            cards = list(pool)
        given = len(cards)
        self.pm.hook.register_models(register=cards.append)
        self.pool = ModelPool(cards)
        #: Names of the models that plugins registered (not passed in ``pool``).
        self.plugin_models: tuple[str, ...] = tuple(c.name for c in cards[given:])
        tasks: list[str] = []
        self.pm.hook.register_tasks(register=tasks.append, pool=self.pool)
        #: Task families that plugins know (a trained scorer's training tasks); per-task card keys are checked on them.
        self.known_tasks: frozenset[str] = frozenset(tasks)
        warn_unknown_task_keys(self.pool, self.known_tasks)
        registered: list[Mode] = []
        self.pm.hook.register_modes(register=registered.append)
        self.modes: dict[str, Mode] = {m.name: m for m in registered}
        if not isinstance(fail_open, bool):
            raise ConfigError(f"fail_open must be True or False, got {fail_open!r}")
        #: The router's own options; per-call and per-adapter options override their set fields.
        self.options = PlanOptions(lam=lam, budget_usd=budget_usd, max_latency_s=max_latency_s,
                                   modes=tuple(modes or ("single", "full")), timeout_s=timeout_s, fail_open=fail_open)
        self._resolve_modes(self.options.modes or ())
        self.default_model = self.pool[default_model].name if default_model else self.pool.names[0]
        self._timed = TimedCalls(MAX_HUNG_PLANS)

    def __repr__(self) -> str:
        return f"Router(pool={list(self.pool.names)}, options={self.options})"

    @property
    def fail_open(self) -> bool:
        """Whether run-time faults fall back instead of raising."""
        return bool(self.options.fail_open)

    @property
    def hung_plans(self) -> int:
        """Planning calls still running after their timeout (a hung plugin); each holds one thread."""
        return self._timed.hung

    # -- input normalisation (always raises on bad input) -----------------------------------------------------------
    def _resolve_modes(self, names: Sequence[str]) -> tuple[Mode, ...]:
        unknown = [n for n in names if n not in self.modes]
        if unknown:
            raise ConfigError(f"unknown mode(s) {unknown}; registered modes: {sorted(self.modes)}")
        return tuple(self.modes[n] for n in names)

    def _resolve_roles(self, roles: Sequence[RoleSpec] | None) -> tuple[Role, ...]:
        if roles is None:
            return (DEFAULT_ROLE,)
        if isinstance(roles, (str, Role)):
            roles = [roles]
        parsed = []
        for r in roles:
            if isinstance(r, str):
                r = Role.parse(r)
            if not isinstance(r, Role):
                raise ConfigError(f"roles must be Role objects or 'name'/'name?' strings, got {type(r).__name__}")
            parsed.append(r)
        if not parsed:
            raise ConfigError("roles is empty: pass None for a single-model plan, or at least one role")
        names = [r.name for r in parsed]
        if len(set(names)) != len(names):
            raise ConfigError(f"duplicate role names in {names}")
        for r in parsed:
            for m in r.models or ():
                if m not in self.pool:
                    raise UnknownModelError(
                        f"role {r.name!r} names unknown model {m!r}; the pool has: {', '.join(self.pool.names)}"
                    )
        return tuple(parsed)

    def context(self, query: Query | str, roles: Sequence[RoleSpec] | None = None,
                options: PlanOptions | None = None) -> PlanContext:
        """Validate the inputs of one planning call and build its context (raises on bad input)."""
        q = Query.coerce(query)
        opts = PlanOptions.coerce(options).over(self.options)
        if options is None or options.budget_usd is None:
            opts = opts.but(budget_usd=q.budget_usd if q.budget_usd is not None else self.options.budget_usd)
        return PlanContext(query=q, pool=self.pool, roles=self._resolve_roles(roles),
                           modes=self._resolve_modes(opts.modes or ()), options=opts, hook=self.pm.hook)

    # -- planning ----------------------------------------------------------------------------------------------------
    def plan(self, query: Query | str, roles: Sequence[RoleSpec] | None = None,
             options: PlanOptions | None = None) -> Plan:
        """Plan one query: mode, kept roles and a model per role (a fallback plan on run-time faults if fail-open)."""
        return self._plan_guarded(self.context(query, roles, options))

    async def aplan(self, query: Query | str, roles: Sequence[RoleSpec] | None = None,
                    options: PlanOptions | None = None) -> Plan:
        """``plan`` without blocking the event loop (the scorer may run an encoder)."""
        return await asyncio.to_thread(self.plan, query, roles, options)

    def plan_batch(self, queries: Sequence[Query | str], roles: Sequence[RoleSpec] | None = None,
                   options: PlanOptions | None = None) -> list[Plan]:
        """Plan many queries, scoring them in one batch when a plugin implements ``score_batch``."""
        contexts = [self.context(q, roles, options) for q in queries]
        if not contexts:
            return []
        try:
            batch = self.pm.hook.score_batch(queries=[c.query for c in contexts], pool=self.pool, context=contexts[0])
        except Exception as exc:
            batch = None
            log.warning("router_plugins: batch scoring failed (%s); scoring one query at a time", redact(str(exc)))
        if batch is not None:
            for ctx, row in zip(contexts, batch):
                try:
                    ctx.scores = self._check_scores(row)
                except ScorerError:
                    ctx.scores = None  # scored again (and failed open) per query
        return [self._plan_guarded(ctx) for ctx in contexts]

    def _plan_guarded(self, ctx: PlanContext) -> Plan:
        try:
            return self._plan_timed(ctx)
        except QueryRejectedError:
            raise  # a refusal is an answer, not a fault
        except Exception as exc:
            if not ctx.options.fail_open:
                raise
            reason = redact(f"{type(exc).__name__}: {exc}")
            plan = fallback_plan(ctx, reason, self.default_model)  # BudgetError when nothing fits the budget
            log.warning("router_plugins: planning failed, falling back to %s: %s",
                        ", ".join(sorted({m for m in plan.assignments.values() if m})), reason)
            return plan

    def _plan_timed(self, ctx: PlanContext) -> Plan:
        timeout = ctx.options.timeout_s
        plan: Plan = self._plan(ctx) if timeout is None else self._timed.run(lambda: self._plan(ctx), timeout)
        return plan

    def default_plan(self, roles: Sequence[RoleSpec], reason: str) -> Plan:
        """Every role on the default model when there is no query context to plan with (an adapter could not read
        the query, a run's budget is spent): a fallback plan that says why, without cost estimates."""
        return Plan(
            mode="fallback",
            roles=tuple(RoleAssignment(r.name, self.default_model, "fallback", decided_by="fallback")
                        for r in self._resolve_roles(roles)),
            fallback=True,
            reason=redact(reason),
            lam=self.options.lam or 0.0,
            budget_usd=self.options.budget_usd,
        )

    def _check_scores(self, raw: Any) -> tuple[float, ...]:
        try:
            scores = tuple(float(s) for s in raw)
        except (TypeError, ValueError):
            raise ScorerError(f"scorer returned {type(raw).__name__}, expected one number per model") from None
        if len(scores) != len(self.pool):
            raise ScorerError(f"scorer returned {len(scores)} scores for a pool of {len(self.pool)} models")
        bad = [n for n, s in zip(self.pool.names, scores) if not (0.0 <= s <= 1.0)]  # NaN fails too
        if bad:
            raise ScorerError(f"scorer returned NaN or out-of-range quality for {bad}")
        return scores

    def _guard(self, ctx: PlanContext) -> None:
        guard = self.pm.hook.guard_query(query=ctx.query, context=ctx)
        if guard is None:
            return
        if not isinstance(guard, GuardDecision):
            raise PlanningError(f"guard_query returned {type(guard).__name__}, expected GuardDecision or None")
        if guard.action == "reject":
            raise QueryRejectedError(f"query rejected by guard: {guard.reason}")
        if guard.action == "pin":
            self.pool.require([guard.model or ""])
            ctx.guard = guard

    def _score(self, ctx: PlanContext) -> None:
        if ctx.scores is not None:
            return
        try:
            raw = self.pm.hook.score_models(query=ctx.query, pool=self.pool, context=ctx)
        except RouterError:
            raise
        except Exception as exc:
            raise ScorerError(f"scorer failed: {type(exc).__name__}: {exc}") from exc
        ctx.scores = self._check_scores(raw)

    def _plan(self, ctx: PlanContext) -> Plan:
        hook = self.pm.hook
        self._guard(ctx)
        self._score(ctx)
        assert ctx.scores is not None
        answer, by = first_result(hook.select_mode, query=ctx.query, modes=ctx.modes, scores=ctx.scores, context=ctx)
        mode_name = _value(answer)
        if mode_name not in {m.name for m in ctx.modes}:
            raise PlanningError(f"select_mode returned {mode_name!r}, not one of {[m.name for m in ctx.modes]}")
        mode = ctx.mode(mode_name)
        ctx.memo["mode"] = mode

        answer, alloc_by = first_result(hook.allocate_roles, query=ctx.query, mode=mode, roles=ctx.roles, context=ctx)
        kept_set = set(_value(answer) or ())
        unknown = kept_set - {r.name for r in ctx.roles}
        if unknown:
            raise PlanningError(f"allocate_roles kept unknown role(s) {sorted(unknown)}")
        missing = [r.name for r in ctx.roles if not r.optional and r.name not in kept_set]
        if missing:
            raise PlanningError(f"allocate_roles pruned required role(s) {missing}: required roles always run")
        if not kept_set:
            raise PlanningError("allocate_roles kept no role: a plan runs at least one")
        ctx.memo["kept"] = frozenset(kept_set)
        prune_reasons = answer.reasons if isinstance(answer, Decision) else {}
        reasons: dict[str, tuple[str, str | None]] = {
            r.name: (prune_reasons.get(r.name) or f"pruned under mode {mode.name!r}", alloc_by)
            for r in ctx.roles if r.name not in kept_set
        }

        chosen: dict[str, Candidate] = {}
        for role in ctx.roles:
            if role.name not in kept_set:
                continue
            cands = ctx.candidates(role)
            answer, route_by = first_result(
                hook.route_role, query=ctx.query, role=role, candidates=[self.pool[c.model] for c in cands],
                scores=[c.quality for c in cands], context=ctx,
            )
            model = _value(answer)
            match = [c for c in cands if c.model == model]
            if not match:
                raise PlanningError(
                    f"route_role chose {model!r} for role {role.name!r}, not one of {[c.model for c in cands]}"
                )
            chosen[role.name] = match[0]
            ctx.fixed[role.name] = match[0].model
            why = answer.reason if isinstance(answer, Decision) and answer.reason else f"chosen by {route_by}"
            reasons[role.name] = (why, route_by)

        plan = assemble(ctx, mode, chosen, reasons)
        adjusted = hook.adjust_plan(plan=plan, context=ctx)
        if not isinstance(adjusted, Plan):
            raise PlanningError(f"adjust_plan returned {type(adjusted).__name__}, expected a Plan")
        return self._validate(ctx, adjusted, plan)

    def _validate(self, ctx: PlanContext, plan: Plan, original: Plan) -> Plan:
        if [r.role for r in plan.roles] != [r.role for r in original.roles]:
            raise PlanningError("adjust_plan must keep the same roles in the same order")
        for r in plan.roles:
            if r.model is not None:
                self.pool[r.model]
            elif not ctx.role(r.role).optional:
                raise PlanningError(f"adjust_plan pruned required role {r.role!r}")
        if plan is not original:
            plan = reprice(ctx, plan, self.modes)
        check_budget(ctx, plan)
        return plan

    # -- escalation cascades -----------------------------------------------------------------------------------------
    def escalate(self, query: Query | str, escalation: Escalation, call: Caller, *,
                 fail_open: bool | None = None) -> EscalationResult:
        """Answer with an escalation cascade: call its models cheapest-first, keep an answer once the
        ``judge_response`` hook is confident enough. ``call(model)`` returns the response (or ``(response, cost)``;
        without a cost the ``estimate_cost`` hook prices the call). A judge that fails or returns a bad value counts
        as "not confident" when fail-open is on (the cascade goes on to a stronger model) and is logged."""
        ctx = self.context(query)
        fail_open = self.fail_open if fail_open is None else fail_open
        cards = {name: self.pool[name] for name in escalation.models}  # UnknownModelError for names not in the pool

        def priced_call(model: str) -> tuple[str, float | None]:
            response, cost = split_response(call(model))
            if not isinstance(response, str):
                raise TypeError(f"call({model!r}) returned {type(response).__name__}, expected the response text")
            return response, cost if cost is not None else ctx.cost(ctx.roles[0], cards[model])

        def judge(model: str, response: str, attempts: Sequence[Attempt]) -> float:
            return self._judge(ctx, model, response, attempts, fail_open)

        return escalation.run(priced_call, judge)

    def judge(self, query: Query | str, model: str, response: str, attempts: Sequence[Attempt] = (), *,
              fail_open: bool | None = None) -> float:
        """The ``judge_response`` hook's confidence that ``model``'s ``response`` to ``query`` is right, for
        adapters that run an :class:`Escalation` themselves: 0.5 when no judge has an opinion; a judge that fails or
        returns a bad value gives 0 (escalate) and is logged when fail-open is on, else raises."""
        self.pool.require([model])
        return self._judge(self.context(query), model, response, attempts,
                           self.fail_open if fail_open is None else fail_open)

    def _judge(self, ctx: PlanContext, model: str, response: str, attempts: Sequence[Attempt], fail_open: bool) -> float:
        try:
            value = self.pm.hook.judge_response(
                query=ctx.query, model=model, response=response, attempts=attempts, context=ctx
            )
            return NO_OPINION if value is None else check_confidence(value, model)
        except Exception as exc:
            if not fail_open:
                raise
            log.warning("router_plugins: judging %r failed, escalating: %s", model,
                        redact(f"{type(exc).__name__}: {exc}"))
            return 0.0

    # -- feedback and clients ----------------------------------------------------------------------------------------
    def record(self, plan: Plan, outcome: Outcome) -> None:
        """Hand an outcome to every ``record_outcome`` plugin; a failing plugin is logged, never raised."""
        try:
            self.pm.hook.record_outcome(plan=plan, outcome=outcome)
        except Exception as exc:
            log.error("router_plugins: a record_outcome plugin failed; outcome of plan %s dropped: %s",
                      plan.signature, redact(f"{type(exc).__name__}: {exc}"))

    def chat_model(self, name: str, framework: str) -> Any:
        """The client for one pool model, built by the ``make_chat_model`` hook."""
        card = self.pool[name]
        model = self.pm.hook.make_chat_model(card=card, framework=framework)
        if model is None:
            raise ConfigError(f"no plugin can build a {framework!r} client for model {name!r} (provider {card.provider!r})")
        return model


def _value(answer: Any) -> Any:
    """A stage hook's answer without its reason."""
    return answer.value if isinstance(answer, Decision) else answer
