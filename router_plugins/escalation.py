"""Escalation cascades: call the cheapest model first and escalate while the judge says no (FrugalGPT-style).

The planner commits to one model per role before anything runs. An escalation instead reads each answer: model ``i``
answers, a judge (the ``judge_response`` hook) gives its confidence that the answer is right, and the answer is kept
when that confidence reaches ``thresholds[i]``; otherwise the next model is called. The last model's answer is always
kept. Every call is paid, so an escalation costs the sum of the calls it made.

:meth:`Escalation.run` runs one live; :func:`replay_escalation` replays one exactly from recorded answers, and
:func:`escalation_front` picks the cost–quality front of candidate escalations on a training split.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from router_plugins._redact import redact
from router_plugins.errors import ConfigError

log = logging.getLogger("router_plugins")

__all__ = [
    "AsyncCaller",
    "Attempt",
    "Caller",
    "Escalation",
    "EscalationResult",
    "Judge",
    "JudgingRouter",
    "check_confidence",
    "escalation_front",
    "replay_escalation",
    "replies_judge",
    "skip_failed_call",
    "split_response",
    "threshold_grid",
]


@dataclass(frozen=True)
class Attempt:
    """One call of an escalation: which model answered what, how confident the judge was, and what it cost."""

    model: str
    response: str
    confidence: float
    cost_usd: float | None = None


#: ``judge(model, response, earlier_attempts) -> confidence in [0, 1]`` that ``response`` is a right answer.
Judge = Callable[[str, str, Sequence[Attempt]], float]
#: ``call(model) -> response`` or ``(response, cost_usd)``.
Caller = Callable[[str], "str | tuple[str, float | None]"]
#: ``async call(model) -> response`` or ``(response, cost_usd)``.
AsyncCaller = Callable[[str], "Awaitable[str | tuple[str, float | None]]"]


@dataclass(frozen=True)
class EscalationResult:
    """The kept answer, the model that gave it, and every attempt made on the way."""

    response: str
    model: str
    attempts: tuple[Attempt, ...]

    @property
    def cost_usd(self) -> float | None:
        """Total cost of all calls, None when any call's cost is unknown."""
        costs = [a.cost_usd for a in self.attempts]
        return None if any(c is None for c in costs) else float(sum(c for c in costs if c is not None))

    @property
    def escalated(self) -> bool:
        """Whether more than one model was called."""
        return len(self.attempts) > 1


@dataclass(frozen=True)
class Escalation:
    """Models in call order and, for every model but the last, the judge confidence at which its answer is kept."""

    models: tuple[str, ...]
    thresholds: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))
        if not self.models:
            raise ConfigError("an escalation needs at least one model")
        if len(set(self.models)) != len(self.models):
            raise ConfigError(f"an escalation calls each model once; got {list(self.models)}")
        if len(self.thresholds) != len(self.models) - 1:
            raise ConfigError(
                f"an escalation of {len(self.models)} models needs {len(self.models) - 1} thresholds (one per model "
                f"but the last, whose answer is always kept); got {len(self.thresholds)}"
            )
        bad = [t for t in self.thresholds if not (0.0 <= t <= 1.0 or t == math.inf)]
        if bad:
            raise ConfigError(f"escalation thresholds are confidences in [0, 1] (or inf: never keep); got {bad}")

    def keeps(self, step: int, confidence: float) -> bool:
        """Whether the answer of the model at ``step`` is kept given the judge's confidence in it."""
        return step == len(self.models) - 1 or confidence >= self.thresholds[step]

    def run(self, call: Caller, judge: Judge) -> EscalationResult:
        """Call the models in order until the judge is confident enough (live). ``call`` and ``judge`` may raise;
        :meth:`router_plugins.Router.escalate` adds fail-open handling around this."""
        attempts: list[Attempt] = []
        for step, model in enumerate(self.models):
            kept = self._attempt(step, model, call(model), judge, attempts)
            if kept is not None:
                return kept
        raise AssertionError("unreachable: the last model's answer is always kept")

    async def arun(self, call: AsyncCaller, judge: Judge) -> EscalationResult:
        """Async twin of :meth:`run`: ``call`` is awaited (the judge is a quick local check and stays sync)."""
        attempts: list[Attempt] = []
        for step, model in enumerate(self.models):
            kept = self._attempt(step, model, await call(model), judge, attempts)
            if kept is not None:
                return kept
        raise AssertionError("unreachable: the last model's answer is always kept")

    def _attempt(self, step: int, model: str, out: str | tuple[str, float | None], judge: Judge,
                 attempts: list[Attempt]) -> EscalationResult | None:
        """Judge one answer and record it; the result when it is kept, else None (go on to the next model)."""
        response, cost = split_response(out)
        last = step == len(self.models) - 1
        confidence = 1.0 if last else check_confidence(judge(model, response, tuple(attempts)), model)
        attempts.append(Attempt(model, response, confidence, cost))
        return EscalationResult(response, model, tuple(attempts)) if self.keeps(step, confidence) else None

    def describe(self) -> str:
        """``a (≥0.7) → b (≥0.5) → c`` for tables and logs."""
        parts = [f"{m.split('/')[-1]} (≥{t:g})" for m, t in zip(self.models, self.thresholds)]
        return " → ".join([*parts, self.models[-1].split("/")[-1]])


def split_response(out: str | tuple[str, float | None]) -> tuple[str, float | None]:
    """A caller's result as (response, cost): callers may return the text alone."""
    return out if isinstance(out, tuple) else (out, None)


def check_confidence(value: object, model: str) -> float:
    """A judge's confidence as a float in [0, 1]; ValueError (naming the model) for anything else, NaN included."""
    try:
        confidence = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"judge returned {value!r} for {model!r}; expected a confidence in [0, 1]") from None
    if not 0.0 <= confidence <= 1.0:
        raise ValueError(f"judge returned {value!r} for {model!r}; expected a confidence in [0, 1]")
    return confidence


def replay_escalation(
    escalation: Escalation,
    quality: NDArray[np.float64],
    cost: NDArray[np.float64],
    confidence: Callable[[int, tuple[int, ...]], float],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Replay an escalation from recorded outcomes.

    ``quality`` and ``cost`` are [n_queries, len(models)] in the escalation's model order; ``confidence(row, steps)``
    is the judge's confidence in the answer of model ``steps[-1]`` on that row after ``steps[:-1]`` were called.
    Returns per-row quality, total cost and the number of calls made.
    """
    n, k = quality.shape
    if k != len(escalation.models) or cost.shape != quality.shape:
        raise ValueError(f"quality and cost must be [n, {len(escalation.models)}]; got {quality.shape}, {cost.shape}")
    q_out, c_out, calls = np.empty(n), np.zeros(n), np.zeros(n, dtype=np.int64)
    for row in range(n):
        for step in range(k):
            c_out[row] += cost[row, step]
            if step == k - 1 or escalation.keeps(step, confidence(row, tuple(range(step + 1)))):
                q_out[row], calls[row] = quality[row, step], step + 1
                break
    return q_out, c_out, calls


def threshold_grid(confidences: NDArray[np.float64], n: int = 9) -> list[float]:
    """Candidate thresholds: ``n`` quantiles of the observed confidences, plus 0 (always keep) and inf (never)."""
    finite = confidences[np.isfinite(confidences)]
    qs = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, n + 2)[1:-1])) if finite.size else np.array([])
    return [0.0, *(float(q) for q in qs), math.inf]


def escalation_front(
    candidates: Iterable[tuple[Escalation, NDArray[np.float64], NDArray[np.float64]]],
) -> list[tuple[Escalation, float, float]]:
    """The cost–quality Pareto front of candidate escalations given their replayed per-row (quality, cost).

    Returns (escalation, mean quality, mean cost) sorted by cost, each strictly better in quality than every cheaper
    one. Choose the front on a training split and replay it on test.
    """
    scored = [(esc, float(np.nanmean(q)), float(np.mean(c))) for esc, q, c in candidates]
    scored.sort(key=lambda s: (s[2], -s[1]))
    front: list[tuple[Escalation, float, float]] = []
    for s in scored:
        if not front or s[1] > front[-1][1]:
            front.append(s)
    return front


class JudgingRouter(Protocol):
    """What the helpers below need of a Router (typed structurally: this module sits below the router)."""

    fail_open: bool

    def judge(self, query: Any, model: str, response: str, attempts: Sequence[Attempt] = (), *,
              fail_open: bool | None = None) -> float: ...


def replies_judge(router: JudgingRouter, query: Any, replies: Mapping[str, Any], *,
                  calls_tools: Callable[[Any], bool] = lambda reply: False,
                  fail_open: bool | None = None) -> Judge:
    """The judge of a framework adapter that keeps each model's reply in ``replies``: a model whose call failed (no
    reply) gets 0, a reply for which ``calls_tools`` holds is kept (confidence 1: judges rate answers, not tool
    calls), and every other reply is rated by the router's ``judge_response`` hook."""

    def judge(model: str, response: str, attempts: Sequence[Attempt]) -> float:
        reply = replies.get(model)
        if reply is None:
            return 0.0
        if calls_tools(reply):
            return 1.0
        return router.judge(query, model, response, attempts, fail_open=fail_open)

    return judge


def skip_failed_call(router: JudgingRouter, escalation: Escalation, model: str, exc: Exception, *,
                     fail_open: bool | None = None) -> tuple[str, float]:
    """A model's call in an escalation failed: with fail-open, log it and answer ("", 0 USD), which
    :func:`replies_judge` rates 0 so the next model is called. Re-raised when fail-open is off, and for a model whose
    answer would be kept anyway (the last one, or a threshold of 0): nothing else would answer."""
    step = escalation.models.index(model)
    last = step == len(escalation.models) - 1
    if not (router.fail_open if fail_open is None else fail_open) or last or escalation.thresholds[step] <= 0:
        raise exc
    log.warning("router_plugins: %r failed in an escalation, trying the next model: %s: %s",
                model, type(exc).__name__, redact(str(exc)))  # provider errors can echo keys and the query
    return "", 0.0
