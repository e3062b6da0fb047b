"""Guarded routing by domain: queries unlike anything the scorer was trained on are pinned to one model or refused.

``DomainGuard`` is an opt-in plugin for ``guard_query``. It reads the trained scorer's calibrated novelty score (the
share of in-distribution validation queries that are less novel, see ``router_plugins.scorer.novelty``), so its
thresholds are false-positive rates: ``fpr=0.05`` acts on about 5 % of in-distribution queries. Above the threshold
every role is pinned to ``pin_model`` (say, the one model that is best across all tasks), and above the stricter
``refuse_fpr`` threshold, or when no pin model is in the pool, the query is refused with the score in the reason.
The score comes from the planning context when a scorer plugin recorded it there (``ScorerPlugin`` and the default
trained scorer do), else from the guard's own ``scorer`` (default: the shipped checkpoint). A query whose task label
the checkpoint never saw has the top score, 1.0, so it is pinned or refused at any threshold, and the reason says so.
"""

from __future__ import annotations

import threading
from typing import Any

from router_plugins.context import GuardDecision, PlanContext
from router_plugins.errors import ConfigError
from router_plugins.hookspecs import hookimpl
from router_plugins.query import Query

__all__ = ["DomainGuard"]


def _rate(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise ConfigError(f"{name} must be a false-positive rate strictly between 0 and 1 (e.g. 0.05), got {value!r}")
    return float(value)


class DomainGuard:
    """Plugin: off-domain queries (calibrated novelty ≥ 1 − ``fpr``) are pinned to ``pin_model`` or refused."""

    def __init__(self, pin_model: str | None = None, *, fpr: float = 0.05, refuse_fpr: float | None = None,
                 scorer: Any = None) -> None:
        self.pin_model = pin_model
        self.fpr = _rate("fpr", fpr)
        self.refuse_fpr = _rate("refuse_fpr", refuse_fpr)
        if self.refuse_fpr is not None and self.fpr is not None and self.refuse_fpr > self.fpr:
            raise ConfigError(f"refuse_fpr ({refuse_fpr}) must not exceed fpr ({fpr}): refusing is the stricter tier")
        self._scorer = scorer
        self._lock = threading.Lock()

    @property
    def threshold(self) -> float:
        """Calibrated novelty at or above which a query is off-domain."""
        return 1.0 - float(self.fpr or 0.05)

    @property
    def refuse_threshold(self) -> float | None:
        """Calibrated novelty at or above which a query is refused even with a pin model (None: never)."""
        return None if self.refuse_fpr is None else 1.0 - self.refuse_fpr

    def scorer(self) -> Any:
        """The scorer whose detector this guard reads when the context carries no score (loaded once)."""
        if self._scorer is None:
            with self._lock:
                if self._scorer is None:
                    from router_plugins.scorer.trained_scorer import load_default_scorer

                    self._scorer = load_default_scorer()
        return self._scorer

    def novelty(self, query: Query, context: PlanContext) -> float:
        """The query's calibrated novelty: recorded by a scorer plugin in this plan's context, else computed here
        (1.0 for a task label the scorer's checkpoint never saw)."""
        return self._reading(query, context)[0]

    def _reading(self, query: Query, context: PlanContext) -> tuple[float, str | None]:
        """The novelty and, when it is certain (an unseen task label), why."""
        found = context.metadata.get("novelty")
        if isinstance(found, dict) and isinstance(found.get("score"), float):
            why = found.get("reason")
            return found["score"], why if isinstance(why, str) and why.isprintable() else None
        reading = self.scorer().novelty_reading([query])
        if reading is None:
            raise ConfigError("DomainGuard needs a scorer checkpoint with a novelty detector; retrain it with "
                              "`router-plugins train` (this version stores one) or pass scorer=")
        return float(reading.score[0]), reading.reason(0)

    @hookimpl
    def guard_query(self, query: Query, context: PlanContext) -> GuardDecision | None:
        """Pass in-domain queries; pin off-domain ones to ``pin_model``; refuse the most novel or when it cannot pin."""
        score, why = self._reading(query, context)
        if score < self.threshold:
            return None
        rate = f"novelty {score:.3f} ≥ {self.threshold:.3f} (flags ≈{100 * (1 - self.threshold):.0f} % of in-domain queries)"
        if why:  # an unseen task label: say so rather than only the number
            rate = f"{why[:120]}, {rate}"
        refuse_at = self.refuse_threshold
        if refuse_at is not None and score >= refuse_at:
            head = f"{why[:120]}, " if why else ""
            return GuardDecision("reject", f"off-domain query: {head}novelty {score:.3f} ≥ refusal threshold "
                                           f"{refuse_at:.3f}")
        if self.pin_model is None:
            return GuardDecision("reject", f"off-domain query: {rate}, and no pin model is configured")
        if self.pin_model not in context.pool:
            return GuardDecision("reject", f"off-domain query: {rate}, and the pin model {self.pin_model!r} is not "
                                           "in the pool")
        return GuardDecision("pin", f"off-domain query: {rate}; pinned to {self.pin_model!r}", model=self.pin_model)
