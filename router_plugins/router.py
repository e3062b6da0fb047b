"""The Router: the one entry point. It validates input and orchestrates the hooks; plugins make every decision."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from pathlib import Path
from typing import Any

from router_plugins.cards import ModelCard, ModelPool
from router_plugins.context import GuardDecision, PlanContext
from router_plugins.escalation import (
    Attempt,
    Caller,
    Escalation,
    EscalationResult,
    check_confidence,
    split_response,
)
from router_plugins.errors import (
    BudgetError,
    ConfigError,
    PlanningError,
    QueryRejectedError,
    RouterError,
    ScorerError,
    UnknownModelError,
)
from router_plugins.modes import Mode
from router_plugins.outcome import Outcome
from router_plugins.plan import Plan, RoleAssignment
from router_plugins.planner import Candidate, plan_quality
from router_plugins.plugins import make_plugin_manager
from router_plugins.query import DEFAULT_ROLE, Query, Role

log = logging.getLogger("router_plugins")
#: The confidence an escalation uses when no judge plugin has an opinion: undecided.
NO_OPINION = 0.5

RoleSpec = Role | str


def _check_lambda(lam: float) -> float:
    if not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
        raise ConfigError(f"lam (λ, the cost weight) must be a finite number ≥ 0, got {lam!r}")
    return float(lam)


def _check_positive(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a finite number > 0 (or None for no limit), got {value!r}")
    return float(value)


class Router:
    """Plans which roles run and which model each uses, under a cost budget, for one query at a time.

    ``plugins`` adds plugin objects; ``disable_plugins`` names built-in or installed plugins to leave out (e.g.
    ``"router_plugins.default_plugins.trained_scorer"`` to route on card priors only).
    ``fail_open``: when planning fails at run time (scorer error, NaN scores, timeout, no feasible plan), return a
    fallback plan that puts every role on ``default_model`` and says why, instead of raising. Bad input (empty
    query, unknown model, malformed roles) always raises.
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
        registered: list[Mode] = []
        self.pm.hook.register_modes(register=registered.append)
        self.modes: dict[str, Mode] = {m.name: m for m in registered}
        self.default_modes = self._resolve_modes(modes or ("single", "full"))
        self.lam = _check_lambda(lam)
        self.budget_usd = _check_positive("budget_usd", budget_usd)
        self.max_latency_s = _check_positive("max_latency_s", max_latency_s)
        self.timeout_s = _check_positive("timeout_s", timeout_s)
        self.default_model = self.pool[default_model].name if default_model else self.pool.names[0]
        self.fail_open = fail_open
        self._executor: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"Router(pool={list(self.pool.names)}, lam={self.lam}, budget_usd={self.budget_usd})"

    # -- input normalisation (always raises on bad input) -----------------------------------------------------------
    def _resolve_modes(self, names: Sequence[str]) -> tuple[Mode, ...]:
        if isinstance(names, str):
            names = [names]
        if not names:
            raise ConfigError("modes is empty: give at least one mode name")
        unknown = [n for n in names if n not in self.modes]
        if unknown:
            raise ConfigError(f"unknown mode(s) {unknown}; registered modes: {sorted(self.modes)}")
        return tuple(self.modes[n] for n in dict.fromkeys(names))

    def _resolve_roles(self, roles: Sequence[RoleSpec] | None) -> tuple[Role, ...]:
        if roles is None:
            return (DEFAULT_ROLE,)
        if isinstance(roles, (str, Role)):
            roles = [roles]
        parsed = tuple(Role.parse(r) if isinstance(r, str) else r for r in roles)
        if not parsed:
            raise ConfigError("roles is empty: pass None for a single-model plan, or at least one role")
        names = [r.name for r in parsed]
        if len(set(names)) != len(names):
            raise ConfigError(f"duplicate role names in {names}")
        for r in parsed:
            if not isinstance(r, Role):
                raise ConfigError(f"roles must be Role objects or 'name'/'name?' strings, got {type(r).__name__}")
            for m in r.models or ():
                if m not in self.pool:
                    raise UnknownModelError(
                        f"role {r.name!r} names unknown model {m!r}; the pool has: {', '.join(self.pool.names)}"
                    )
        return parsed

    def context(
        self,
        query: Query | str,
        roles: Sequence[RoleSpec] | None = None,
        modes: Sequence[str] | None = None,
        *,
        lam: float | None = None,
        budget_usd: float | None = None,
        max_latency_s: float | None = None,
    ) -> PlanContext:
        """Validate the inputs of one planning call and build its context (raises on bad input)."""
        q = Query.coerce(query)
        budget = _check_positive("budget_usd", budget_usd)
        if budget is None:
            budget = q.budget_usd if q.budget_usd is not None else self.budget_usd
        return PlanContext(
            router=self,
            query=q,
            pool=self.pool,
            roles=self._resolve_roles(roles),
            modes=self.default_modes if modes is None else self._resolve_modes(modes),
            lam=self.lam if lam is None else _check_lambda(lam),
            budget_usd=budget,
            max_latency_s=self.max_latency_s if max_latency_s is None else _check_positive("max_latency_s", max_latency_s),
        )

    # -- planning ----------------------------------------------------------------------------------------------------
    def plan(
        self,
        query: Query | str,
        roles: Sequence[RoleSpec] | None = None,
        modes: Sequence[str] | None = None,
        *,
        lam: float | None = None,
        budget_usd: float | None = None,
        max_latency_s: float | None = None,
        fail_open: bool | None = None,
    ) -> Plan:
        """Plan one query: mode, kept roles and a model per role (a fallback plan on run-time failure if fail-open)."""
        ctx = self.context(query, roles, modes, lam=lam, budget_usd=budget_usd, max_latency_s=max_latency_s)
        return self._plan_guarded(ctx, fail_open)

    async def aplan(self, query: Query | str, roles: Sequence[RoleSpec] | None = None,
                    modes: Sequence[str] | None = None, **kwargs: Any) -> Plan:
        """``plan`` without blocking the event loop (the scorer may run an encoder)."""
        return await asyncio.to_thread(self.plan, query, roles, modes, **kwargs)

    def plan_batch(
        self,
        queries: Sequence[Query | str],
        roles: Sequence[RoleSpec] | None = None,
        modes: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> list[Plan]:
        """Plan many queries, scoring them in one batch when a plugin implements ``score_batch``."""
        fail_open = kwargs.pop("fail_open", None)
        contexts = [self.context(q, roles, modes, **kwargs) for q in queries]
        if not contexts:
            return []
        try:
            batch = self.pm.hook.score_batch(queries=[c.query for c in contexts], pool=self.pool, context=contexts[0])
        except Exception as exc:
            batch = None
            log.warning("router_plugins: batch scoring failed (%s); scoring one query at a time", exc)
        if batch is not None:
            for ctx, row in zip(contexts, batch):
                try:
                    ctx.scores = self._check_scores(row)
                except ScorerError:
                    ctx.scores = None  # scored again (and failed open) per query
        return [self._plan_guarded(ctx, fail_open) for ctx in contexts]

    def _plan_guarded(self, ctx: PlanContext, fail_open: bool | None) -> Plan:
        fail_open = self.fail_open if fail_open is None else fail_open
        try:
            if self.timeout_s is None:
                return self._plan(ctx)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="router-plan")
            try:
                return self._executor.submit(self._plan, ctx).result(timeout=self.timeout_s)
            except FutureTimeout:
                raise PlanningError(f"planning took longer than timeout_s={self.timeout_s}") from None
        except QueryRejectedError:
            raise
        except Exception as exc:
            if not fail_open:
                raise
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("router_plugins: planning failed, falling back to %r: %s", self.default_model, reason)
            return self.fallback_plan(ctx, reason)

    def fallback_plan(self, ctx: PlanContext, reason: str) -> Plan:
        """Every role on the default model (or on the model a guard pinned, which must hold even now): what runs when
        planning fails and fail-open is on."""
        pinned = ctx.guard.model if ctx.guard is not None and ctx.guard.action == "pin" else None
        card = self.pool[pinned or self.default_model]
        roles = tuple(
            RoleAssignment(r.name, card.name, "fallback", cost_usd=self._cost(ctx, r, card), latency_s=card.latency_s)
            for r in ctx.roles
        )
        return Plan(
            mode="fallback",
            roles=roles,
            quality=None,
            cost_usd=sum(r.cost_usd for r in roles),
            latency_s=sum(r.latency_s for r in roles),
            budget_usd=ctx.budget_usd,
            lam=ctx.lam,
            query_id=_query_id(ctx.query),
            fallback=True,
            reason=reason,
            metadata=_plan_metadata(ctx),
        )

    def default_plan(self, roles: Sequence[RoleSpec], reason: str) -> Plan:
        """Every role on the default model when there is no query context to plan with (an adapter could not read
        the query, a run's budget is spent): a fallback plan that says why, without cost estimates."""
        return Plan(
            mode="fallback",
            roles=tuple(RoleAssignment(r.name, self.default_model, "fallback") for r in self._resolve_roles(roles)),
            fallback=True,
            reason=reason,
            lam=self.lam,
            budget_usd=self.budget_usd,
        )

    def _check_scores(self, raw: Any) -> tuple[float, ...]:
        try:
            scores = tuple(float(s) for s in raw)
        except TypeError:
            raise ScorerError(f"scorer returned {type(raw).__name__}, expected one number per model") from None
        if len(scores) != len(self.pool):
            raise ScorerError(f"scorer returned {len(scores)} scores for a pool of {len(self.pool)} models")
        bad = [n for n, s in zip(self.pool.names, scores) if not (0.0 <= s <= 1.0)]  # NaN fails too
        if bad:
            raise ScorerError(f"scorer returned NaN or out-of-range quality for {bad}")
        return scores

    def _cost(self, ctx: PlanContext, role: Role, card: ModelCard) -> float:
        key = ("cost", role.name, card.name)
        if key not in ctx.memo:
            cost = self.pm.hook.estimate_cost(query=ctx.query, role=role, card=card, context=ctx)
            if cost is None or not math.isfinite(cost) or cost < 0:
                raise PlanningError(f"estimate_cost returned {cost!r} for {card.name!r}")
            ctx.memo[key] = float(cost)
        return float(ctx.memo[key])

    def candidates(self, ctx: PlanContext, role: Role, *, whole_pool: bool = False) -> list[Candidate]:
        """The options for one role: allowed models (or the whole pool) with predicted quality, cost and latency."""
        key = ("candidates", role.name, whole_pool)
        if key in ctx.memo:
            return list(ctx.memo[key])
        assert ctx.scores is not None
        if whole_pool:
            names: Sequence[str] = self.pool.names
        elif ctx.guard is not None and ctx.guard.action == "pin" and ctx.guard.model:
            names = [ctx.guard.model]
        else:
            names = role.models or self.pool.names
        tokens_in = _tokens(ctx.query.text) + role.prompt_tokens
        cands = []
        for name in names:
            card = self.pool[name]
            tokens_out = role.output_tokens or card.output_tokens
            cands.append(
                Candidate(
                    model=name,
                    quality=ctx.scores[self.pool.index(name)],
                    cost=self._cost(ctx, role, card),
                    latency=card.latency_s,
                    input_cost=tokens_in * card.input_price / 1e6,
                    output_cost=tokens_out * card.output_price / 1e6,
                )
            )
        ctx.memo[key] = tuple(cands)
        return cands

    def _plan(self, ctx: PlanContext) -> Plan:
        hook = self.pm.hook
        guard = hook.guard_query(query=ctx.query, context=ctx)
        if guard is not None:
            if not isinstance(guard, GuardDecision):
                raise PlanningError(f"guard_query returned {type(guard).__name__}, expected GuardDecision or None")
            if guard.action == "reject":
                raise QueryRejectedError(f"query rejected by guard: {guard.reason}")
            if guard.action == "pin":
                self.pool.require([guard.model or ""])
                ctx.guard = guard
        if ctx.scores is None:
            try:
                raw = hook.score_models(query=ctx.query, pool=self.pool, context=ctx)
            except RouterError:
                raise
            except Exception as exc:
                raise ScorerError(f"scorer failed: {type(exc).__name__}: {exc}") from exc
            ctx.scores = self._check_scores(raw)

        mode_name = hook.select_mode(query=ctx.query, modes=ctx.modes, scores=ctx.scores, context=ctx)
        if mode_name not in {m.name for m in ctx.modes}:
            raise PlanningError(f"select_mode returned {mode_name!r}, not one of {[m.name for m in ctx.modes]}")
        mode = ctx.mode(mode_name)
        ctx.memo["mode"] = mode

        kept_names = hook.allocate_roles(query=ctx.query, mode=mode, roles=ctx.roles, context=ctx)
        kept_set = set(kept_names or ())
        unknown = kept_set - {r.name for r in ctx.roles}
        if unknown:
            raise PlanningError(f"allocate_roles kept unknown role(s) {sorted(unknown)}")
        missing = [r.name for r in ctx.roles if not r.optional and r.name not in kept_set]
        if missing:
            raise PlanningError(f"allocate_roles pruned required role(s) {missing}: required roles always run")
        if not kept_set:
            raise PlanningError("allocate_roles kept no role: a plan runs at least one")
        ctx.memo["kept"] = frozenset(kept_set)

        chosen: dict[str, Candidate] = {}
        for role in ctx.roles:
            if role.name not in kept_set:
                continue
            cands = self.candidates(ctx, role)
            scores = [c.quality for c in cands]
            model = hook.route_role(
                query=ctx.query, role=role, candidates=[self.pool[c.model] for c in cands], scores=scores, context=ctx
            )
            match = [c for c in cands if c.model == model]
            if not match:
                raise PlanningError(
                    f"route_role chose {model!r} for role {role.name!r}, not one of {[c.model for c in cands]}"
                )
            chosen[role.name] = match[0]
            ctx.fixed[role.name] = match[0].model

        plan = self._assemble(ctx, mode, chosen)
        adjusted = hook.adjust_plan(plan=plan, context=ctx)
        if not isinstance(adjusted, Plan):
            raise PlanningError(f"adjust_plan returned {type(adjusted).__name__}, expected a Plan")
        return self._validate(ctx, adjusted, plan)

    def _assemble(self, ctx: PlanContext, mode: Mode, chosen: dict[str, Candidate]) -> Plan:
        quality = plan_quality(ctx.roles, chosen, mode)
        cost = sum(c.cost for c in chosen.values()) * mode.samples
        roles = []
        for role in ctx.roles:
            c = chosen.get(role.name)
            if c is None:
                roles.append(RoleAssignment(role.name, None, self._prune_reason(ctx, mode, role, chosen, cost)))
            else:
                roles.append(
                    RoleAssignment(
                        role.name,
                        c.model,
                        f"best quality − λ·cost ({len(self.candidates(ctx, role))} candidates)",
                        quality=round(mode.transform(c.quality), 6),
                        cost_usd=c.cost * mode.samples,
                        latency_s=c.latency * mode.samples,
                        samples=mode.samples,
                    )
                )
        return Plan(
            mode=mode.name,
            roles=tuple(roles),
            quality=round(quality, 6),
            cost_usd=cost,
            latency_s=sum(c.latency for c in chosen.values()) * mode.samples,
            budget_usd=ctx.budget_usd,
            lam=ctx.lam,
            query_id=_query_id(ctx.query),
            metadata=_plan_metadata(ctx),
        )

    def _prune_reason(self, ctx: PlanContext, mode: Mode, role: Role, chosen: dict[str, Candidate], cost: float) -> str:
        if not mode.keep_optional:
            return f"mode {mode.name!r} runs only required roles"
        cands = self.candidates(ctx, role)
        base = plan_quality(ctx.roles, chosen, mode)
        best = max(cands, key=lambda c: plan_quality(ctx.roles, {**chosen, role.name: c}, mode) - ctx.lam * c.cost)
        extra = best.cost * mode.samples
        if ctx.budget_usd is not None and cost + extra > ctx.budget_usd:
            return f"no room in the budget (${ctx.budget_usd:.6g}) for ${extra:.6g} more"
        gain = plan_quality(ctx.roles, {**chosen, role.name: best}, mode) - base
        return f"expected gain {gain:.4f} < λ·cost {ctx.lam * extra:.4g}"

    def _validate(self, ctx: PlanContext, plan: Plan, original: Plan) -> Plan:
        if [r.role for r in plan.roles] != [r.role for r in original.roles]:
            raise PlanningError("adjust_plan must keep the same roles in the same order")
        for r in plan.roles:
            if r.model is not None:
                self.pool[r.model]
            elif not ctx.role(r.role).optional:
                raise PlanningError(f"adjust_plan pruned required role {r.role!r}")
        if plan is not original:
            plan = self._reprice(ctx, plan)
        if ctx.budget_usd is not None and plan.cost_usd > ctx.budget_usd * (1 + 1e-9):
            raise BudgetError(
                f"plan costs ${plan.cost_usd:.6g}, over the budget of ${ctx.budget_usd:.6g} (set by a plugin's choice)"
            )
        return plan

    def _reprice(self, ctx: PlanContext, plan: Plan) -> Plan:
        """Recompute predictions after adjust_plan changed models, so quality and cost stay truthful."""
        mode = ctx.modes[0] if plan.mode not in self.modes else self.modes[plan.mode]
        chosen = {}
        for r in plan.roles:
            if r.model is not None:
                cands = self.candidates(ctx, ctx.role(r.role), whole_pool=True)
                chosen[r.role] = next(c for c in cands if c.model == r.model)
        roles = tuple(
            r if r.model is None else replace(r, cost_usd=chosen[r.role].cost * r.samples,
                                              latency_s=chosen[r.role].latency * r.samples,
                                              quality=round(mode.transform(chosen[r.role].quality), 6))
            for r in plan.roles
        )
        return replace(
            plan,
            roles=roles,
            quality=round(plan_quality(ctx.roles, chosen, mode), 6),
            cost_usd=sum(r.cost_usd for r in roles),
            latency_s=sum(r.latency_s for r in roles),
        )

    # -- escalation cascades -----------------------------------------------------------------------------------------
    def escalate(
        self,
        query: Query | str,
        escalation: Escalation,
        call: Caller,
        *,
        fail_open: bool | None = None,
    ) -> EscalationResult:
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
            return response, cost if cost is not None else self._cost(ctx, ctx.roles[0], cards[model])

        def judge(model: str, response: str, attempts: Sequence[Attempt]) -> float:
            return self._judge(ctx, model, response, attempts, fail_open)

        return escalation.run(priced_call, judge)

    def judge(
        self,
        query: Query | str,
        model: str,
        response: str,
        attempts: Sequence[Attempt] = (),
        *,
        fail_open: bool | None = None,
    ) -> float:
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
            log.warning("router_plugins: judging %r failed, escalating: %s: %s", model, type(exc).__name__, exc)
            return 0.0

    # -- feedback ----------------------------------------------------------------------------------------------------
    def record(self, plan: Plan, outcome: Outcome) -> None:
        """Hand an outcome to every ``record_outcome`` plugin; a failing plugin is logged, never raised."""
        try:
            self.pm.hook.record_outcome(plan=plan, outcome=outcome)
        except Exception:
            log.exception("router_plugins: a record_outcome plugin failed; outcome of plan %s dropped", plan.signature)

    def chat_model(self, name: str, framework: str) -> Any:
        """The client for one pool model, built by the ``make_chat_model`` hook."""
        card = self.pool[name]
        model = self.pm.hook.make_chat_model(card=card, framework=framework)
        if model is None:
            raise ConfigError(f"no plugin can build a {framework!r} client for model {name!r} (provider {card.provider!r})")
        return model


def _tokens(text: str) -> int:
    from router_plugins.tokens import estimate_tokens

    return estimate_tokens(text)


def _plan_metadata(ctx: PlanContext) -> dict[str, Any]:
    """What a plan records about its query beyond the decision: the task family (for feedback), a guard's pin and the
    scorer's novelty."""
    meta: dict[str, Any] = {}
    if ctx.query.task:
        meta["task"] = ctx.query.task
    if ctx.guard:
        meta["guard"] = ctx.guard.reason
    if "novelty" in ctx.memo:  # the scorer plugin's calibrated novelty (scorer/plugin.py record_novelty)
        meta["novelty"] = dict(ctx.memo["novelty"])
    return meta


def _query_id(query: Query) -> str:
    return hashlib.sha256(query.text.encode()).hexdigest()[:12]
