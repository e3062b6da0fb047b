"""Escalation cascades: validation, live runs through the Router's judge hook (fail-open), replay and the front."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from router_plugins import ConfigError, ModelPool, Router, UnknownModelError, hookimpl
from router_plugins.escalation import (
    Attempt,
    Escalation,
    escalation_front,
    replay_escalation,
    threshold_grid,
)

NO_SCORER = ("router_plugins.scorer.plugin",)


def router(pool: ModelPool, *plugins: object, fail_open: bool = True) -> Router:
    return Router(pool, plugins=plugins, load_entrypoints=False, disable_plugins=NO_SCORER, fail_open=fail_open)


@pytest.mark.parametrize(
    ("models", "thresholds", "match"),
    [
        ((), (), "at least one model"),
        (("a", "a"), (0.5,), "each model once"),
        (("a", "b"), (), "needs 1 thresholds"),
        (("a", "b"), (1.5,), r"\[0, 1\]"),
        (("a", "b"), (math.nan,), r"\[0, 1\]"),
        (("a", "b"), (-math.inf,), r"\[0, 1\]"),
    ],
)
def test_malformed_escalations_are_rejected(models: tuple[str, ...], thresholds: tuple[float, ...], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Escalation(models, thresholds)


def test_agreement_cascade_keeps_agreeing_cheap_answers(pool: ModelPool) -> None:
    """Built-in judge: the first answer has no support (0), the second is kept when it agrees with the first."""
    answers = {"small": "The answer is (B).", "mid": "B", "big": "C"}
    calls: list[str] = []

    def call(model: str) -> str:
        calls.append(model)
        return answers[model]

    esc = Escalation(("small", "mid", "big"), (1.0, 1.0))
    result = router(pool).escalate("Which option?", esc, call)
    assert (result.model, calls) == ("mid", ["small", "mid"])
    assert [a.confidence for a in result.attempts] == [0.5, 1.0]
    assert result.cost_usd is not None and result.cost_usd > 0  # priced by the estimate_cost hook

    answers["mid"] = "D"
    calls.clear()
    result = router(pool).escalate("Which option?", esc, call)
    assert (result.model, result.response, calls) == ("big", "C", ["small", "mid", "big"])
    assert result.escalated


def test_wrong_arithmetic_escalates(pool: ModelPool) -> None:
    esc = Escalation(("small", "big"), (0.5,))
    responses = {"small": "3 * 4 = 13 so #### 13", "big": "3 * 4 = 12 so #### 12"}
    result = router(pool).escalate("What is 3 times 4?", esc, lambda m: (responses[m], 0.001))
    assert result.model == "big"
    assert result.cost_usd == pytest.approx(0.002)
    responses["small"] = "3 * 4 = 12 so #### 12"
    assert router(pool).escalate("What is 3 times 4?", esc, lambda m: responses[m]).model == "small"


class ConstantJudge:
    def __init__(self, value: object) -> None:
        self.value = value
        self.seen: list[tuple[str, int]] = []

    @hookimpl
    def judge_response(self, model: str, attempts: Sequence[Attempt]) -> object:
        self.seen.append((model, len(attempts)))
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


def test_a_plugin_judge_overrides_the_builtin(pool: ModelPool) -> None:
    judge = ConstantJudge(0.8)
    esc = Escalation(("small", "mid", "big"), (0.7, 0.9))
    result = router(pool, judge).escalate("q", esc, lambda m: f"{m} says 1")
    assert result.model == "small" and judge.seen == [("small", 0)]
    result = router(pool, ConstantJudge(0.8)).escalate("q", Escalation(("small", "mid", "big"), (0.9, 0.7)),
                                                       lambda m: f"{m} says 1")
    assert result.model == "mid"


@pytest.mark.parametrize("bad", [RuntimeError("judge down"), 1.7, float("nan"), "high"])
def test_a_failing_judge_fails_open_to_the_stronger_model(pool: ModelPool, bad: object,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    esc = Escalation(("small", "big"), (0.5,))
    result = router(pool, ConstantJudge(bad)).escalate("q", esc, lambda m: f"{m} answer")
    assert result.model == "big"
    assert "escalating" in caplog.text
    with pytest.raises((RuntimeError, ValueError)):
        router(pool, ConstantJudge(bad), fail_open=False).escalate("q", esc, lambda m: f"{m} answer")


def test_escalate_rejects_unknown_models_and_non_text_responses(pool: ModelPool) -> None:
    with pytest.raises(UnknownModelError, match="nope"):
        router(pool).escalate("q", Escalation(("small", "nope"), (0.5,)), lambda m: "x")
    with pytest.raises(TypeError, match="expected the response text"):
        router(pool).escalate("q", Escalation(("small",)), lambda m: 42)  # type: ignore[arg-type,return-value]


def test_replay_matches_a_hand_computed_cascade() -> None:
    quality = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    cost = np.array([[1.0, 10.0], [1.0, 10.0], [2.0, 20.0]])
    conf = {0: 0.9, 1: 0.2, 2: 0.6}
    q, c, calls = replay_escalation(Escalation(("a", "b"), (0.5,)), quality, cost, lambda row, steps: conf[row])
    assert q.tolist() == [1.0, 1.0, 0.0]
    assert c.tolist() == [1.0, 11.0, 2.0]
    assert calls.tolist() == [1, 2, 1]
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        replay_escalation(Escalation(("a", "b"), (0.5,)), quality[:, :1], cost[:, :1], lambda r, s: 0.0)


def test_front_is_sorted_and_strictly_improving() -> None:
    cands = [
        (Escalation(("a",)), np.array([0.5, 0.5]), np.array([1.0, 1.0])),
        (Escalation(("b",)), np.array([0.4, 0.4]), np.array([2.0, 2.0])),  # dominated
        (Escalation(("a", "b"), (0.5,)), np.array([1.0, 0.5]), np.array([1.5, 1.5])),
        (Escalation(("c",)), np.array([1.0, 1.0]), np.array([3.0, 3.0])),
    ]
    front = escalation_front(cands)
    assert [e.models for e, _, _ in front] == [("a",), ("a", "b"), ("c",)]
    assert [q for _, q, _ in front] == [0.5, 0.75, 1.0]


def test_threshold_grid() -> None:
    grid = threshold_grid(np.linspace(0, 1, 101), n=3)
    assert grid[0] == 0.0 and grid[-1] == math.inf and grid[1:-1] == pytest.approx([0.25, 0.5, 0.75])
    assert Escalation(("x", "z"), (math.inf,)).keeps(0, 1.0) is False
