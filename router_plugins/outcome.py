"""What happened when a plan ran: per role model, tokens, cost, latency and errors; overall success or score."""

from __future__ import annotations

from dataclasses import dataclass

from router_plugins.plan import Plan


@dataclass(frozen=True)
class RoleOutcome:
    """One role's measured run."""

    role: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The measured result of running one plan (cost belongs to this run, never to a global counter)."""

    roles: tuple[RoleOutcome, ...] = ()
    success: bool | None = None
    score: float | None = None
    error: str | None = None
    cost_estimated: bool = False

    @property
    def cost_usd(self) -> float:
        """Total cost of the run."""
        return sum(r.cost_usd for r in self.roles)

    @property
    def latency_s(self) -> float:
        """Sum of the roles' latencies (the sequential upper bound)."""
        return sum(r.latency_s for r in self.roles)

    @property
    def quality(self) -> float | None:
        """The score if given, else 1/0 from success, else None."""
        if self.score is not None:
            return self.score
        return None if self.success is None else float(self.success)

    def matches(self, plan: Plan) -> bool:
        """True when every role outcome ran the model the plan assigned to it."""
        assigned = plan.assignments
        return all(assigned.get(r.role) == r.model for r in self.roles)
