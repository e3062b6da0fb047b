"""Per-call planning state handed to every hook (with the candidates and costs it owns), and the answer types of the
guard and stage hooks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from router_plugins._tokens import estimate_tokens
from router_plugins.cards import ModelCard, ModelPool
from router_plugins.default_plugins import token_cost
from router_plugins.errors import PlanningError
from router_plugins.modes import Mode
from router_plugins.options import PlanOptions
from router_plugins.planner import Candidate
from router_plugins.query import Query, Role

__all__ = ["Decision", "GuardDecision", "PlanContext"]


@dataclass(frozen=True)
class GuardDecision:
    """What a guard decided: ``reject`` the query, ``pin`` every role to one model (e.g. a local one), or ``pass``."""

    action: Literal["pass", "reject", "pin"]
    reason: str = ""
    model: str | None = None


@dataclass(frozen=True)
class Decision:
    """A stage hook's answer with its own reason, shown by ``Plan.explain()`` (a bare value is accepted too).

    ``value``: the mode name (``select_mode``), the kept role names (``allocate_roles``) or the model name
    (``route_role``). ``reason``: why. ``reasons``: for ``allocate_roles``, why each pruned role was pruned.
    """

    value: Any
    reason: str = ""
    reasons: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", MappingProxyType(dict(self.reasons)))


@dataclass
class PlanContext:
    """Everything known while planning one query; ``memo`` lets built-in stages share work within the call, and
    ``metadata`` is what plugins add to the plan's metadata (e.g. a scorer's novelty, read by guards too).

    It owns each role's candidates (allowed models with predicted quality, cost and latency), so planning plugins
    need nothing of the Router.
    """

    query: Query
    pool: ModelPool
    roles: tuple[Role, ...]
    modes: tuple[Mode, ...]
    options: PlanOptions
    hook: Any = field(repr=False)
    scores: tuple[float, ...] | None = None
    guard: GuardDecision | None = None
    fixed: dict[str, str] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def lam(self) -> float:
        """λ, the quality traded per USD."""
        return self.options.lam or 0.0

    @property
    def budget_usd(self) -> float | None:
        """The hard per-task budget (None = no limit)."""
        return self.options.budget_usd

    @property
    def max_latency_s(self) -> float | None:
        """The hard bound on predicted latency (None = no limit)."""
        return self.options.max_latency_s

    def role(self, name: str) -> Role:
        """The Role of that name."""
        for r in self.roles:
            if r.name == name:
                return r
        raise KeyError(name)

    def mode(self, name: str) -> Mode:
        """The Mode of that name."""
        for m in self.modes:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def pinned(self) -> str | None:
        """The model a guard pinned every role to, if any."""
        return self.guard.model if self.guard is not None and self.guard.action == "pin" else None

    @property
    def query_tokens(self) -> int:
        """Estimated tokens of the query text (memoised: every role's candidates need it)."""
        if "query_tokens" not in self.memo:
            self.memo["query_tokens"] = estimate_tokens(self.query.text)
        return int(self.memo["query_tokens"])

    def cost(self, role: Role, card: ModelCard) -> float:
        """Predicted USD of one call of ``card`` for ``role`` (the ``estimate_cost`` hook, memoised)."""
        key = ("cost", role.name, card.name)
        if key not in self.memo:
            if "builtin_cost" not in self.memo:
                self.memo["builtin_cost"] = token_cost.is_only_estimate(self.hook)
            if self.memo["builtin_cost"]:  # the same figure as the hook's, without the round trip
                self.memo[key] = token_cost.call_cost(self.query_tokens, role, card)
                return float(self.memo[key])
            cost = self.hook.estimate_cost(query=self.query, role=role, card=card, context=self)
            if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost) or cost < 0:
                raise PlanningError(f"estimate_cost returned {cost!r} for {card.name!r}: expected a finite USD ≥ 0")
            self.memo[key] = float(cost)
        return float(self.memo[key])

    def allowed(self, role: Role) -> Sequence[str]:
        """The models ``role`` may use: the guard's pin, else the role's ``models``, else the whole pool."""
        pinned = self.pinned
        return [pinned] if pinned else (role.models or self.pool.names)

    def candidates(self, role: Role, *, whole_pool: bool = False) -> list[Candidate]:
        """The options for one role: allowed models (or the whole pool) with predicted quality, cost and latency."""
        key = ("candidates", role.name, whole_pool)
        if key in self.memo:
            return list(self.memo[key])
        if self.scores is None:
            raise PlanningError("candidates() needs the scores: call it from a stage hook, after scoring")
        names = self.pool.names if whole_pool else self.allowed(role)
        tokens_in = self.query_tokens + role.prompt_tokens
        column = {name: i for i, name in enumerate(self.pool.names)}
        cands = []
        for name in names:
            card = self.pool[name]  # an unknown name raises UnknownModelError here
            tokens_out = role.output_tokens or card.output_tokens
            cands.append(
                Candidate(
                    model=name,
                    quality=self.scores[column[name]],
                    cost=self.cost(role, card),
                    latency=card.latency_s,
                    input_cost=tokens_in * card.input_price / 1e6,
                    output_cost=tokens_out * card.output_price / 1e6,
                )
            )
        self.memo[key] = tuple(cands)
        return cands
