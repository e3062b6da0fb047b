"""Per-call planning state handed to every hook, and the guard's decision type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from router_plugins.cards import ModelPool
from router_plugins.modes import Mode
from router_plugins.query import Query, Role

if TYPE_CHECKING:
    from router_plugins.router import Router


@dataclass(frozen=True)
class GuardDecision:
    """What a guard decided: ``reject`` the query, ``pin`` every role to one model (e.g. a local one), or ``pass``."""

    action: Literal["pass", "reject", "pin"]
    reason: str = ""
    model: str | None = None


@dataclass
class PlanContext:
    """Everything known while planning one query; ``memo`` lets built-in stages share work within the call."""

    router: Router
    query: Query
    pool: ModelPool
    roles: tuple[Role, ...]
    modes: tuple[Mode, ...]
    lam: float
    budget_usd: float | None
    max_latency_s: float | None
    scores: tuple[float, ...] | None = None
    guard: GuardDecision | None = None
    fixed: dict[str, str] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)

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
