"""The knobs of one planning call, in one frozen value that ``Router.plan`` / ``aplan`` / ``plan_batch`` and every
adapter take, so a setting is declared once and checked once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from router_plugins.errors import ConfigError

__all__ = ["PlanOptions"]


def _non_negative(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a finite number ≥ 0, got {value!r}")
    return float(value)


def _positive(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a finite number > 0 (or None for no limit), got {value!r}")
    return float(value)


@dataclass(frozen=True)
class PlanOptions:
    """Per-call planning settings; a field left None takes the router's own setting.

    ``lam`` (λ): quality traded per USD (0 = cost only breaks ties). ``budget_usd``: hard cost cap per task.
    ``modes``: collaboration modes to choose from. ``max_latency_s``: hard bound on predicted latency.
    ``timeout_s``: planning time limit (then fail-open or PlanningError). ``fail_open``: fall back on run-time
    faults instead of raising.
    """

    lam: float | None = None
    budget_usd: float | None = None
    modes: tuple[str, ...] | None = None
    max_latency_s: float | None = None
    timeout_s: float | None = None
    fail_open: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lam", _non_negative("lam (λ, the cost weight)", self.lam))
        object.__setattr__(self, "budget_usd", _positive("budget_usd", self.budget_usd))
        object.__setattr__(self, "max_latency_s", _positive("max_latency_s", self.max_latency_s))
        object.__setattr__(self, "timeout_s", _positive("timeout_s", self.timeout_s))
        if self.modes is not None:
            modes: Sequence[Any] = (self.modes,) if isinstance(self.modes, str) else self.modes
            try:
                names = tuple(dict.fromkeys(modes))
            except TypeError:
                raise ConfigError(f"modes must be a list of mode names, got {self.modes!r}") from None
            if not names or not all(isinstance(n, str) and n for n in names):
                raise ConfigError(f"modes must be a non-empty list of mode names, got {self.modes!r}")
            object.__setattr__(self, "modes", names)
        if self.fail_open is not None and not isinstance(self.fail_open, bool):
            raise ConfigError(f"fail_open must be True, False or None, got {self.fail_open!r}")

    def over(self, base: PlanOptions) -> PlanOptions:
        """These options with every unset field taken from ``base`` (an adapter's options over the router's)."""
        return replace(base, **{f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None})

    def but(self, **changes: Any) -> PlanOptions:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    @classmethod
    def coerce(cls, options: PlanOptions | None) -> PlanOptions:
        """Accept None (no overrides) or PlanOptions; anything else is a ConfigError."""
        if options is None:
            return cls()
        if not isinstance(options, cls):
            raise ConfigError(f"options must be a PlanOptions, got {type(options).__name__}")
        return options
