"""Post-generation modes (votes, consensus cascades) replayed exactly from recorded answers: hand-checked rows, the
per-task choice on train, hostile responses, and the shared RouterBench data (skipped when absent)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from router_plugins.replay import OutcomeTable, load_outcomes
from router_plugins.replay.post_generation import (
    answer_keys,
    candidate_modes,
    comparable_tasks,
    format_post_generation,
    post_generation_report,
    replay_mode,
)
from shared_data import shared

MODELS = ("a", "b", "c", "strong")


def table(answers: list[list[str]], correct: list[list[float]], tasks: list[str] | None = None,
          splits: list[str] | None = None) -> OutcomeTable:
    """Four models; costs 1, 1, 1, 10 per call."""
    n = len(answers)
    return OutcomeTable(name="t", texts=tuple(f"q{i}" for i in range(n)),
                        tasks=np.array(tasks or ["mc"] * n), splits=np.array(splits or ["test"] * n), models=MODELS,
                        quality=np.array(correct, dtype=np.float64), cost=np.tile([1.0, 1.0, 1.0, 10.0], (n, 1)),
                        responses=np.array(answers, dtype=object))


def test_consensus_cascade_replays_exactly() -> None:
    t = table([["(A)", "A", "B", "A"],       # a and b agree at step 2 → keep A (right), cost 2
               ["A", "B", "B", "C"],         # a, b disagree; c agrees with b at step 3 → keep B (wrong), cost 3
               ["A", "B", "C", "D"],         # no two agree → escalate to strong (right), cost 3 + 10
               ["garbled", "?!", "B", "B"]],  # unreadable answers never agree → escalate, cost 13
              [[1, 1, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 1, 1]])
    keys = answer_keys(t)
    q, c = replay_mode(t, keys, ("consensus", (0, 1, 2), 2, 3))
    np.testing.assert_array_equal(q, [1, 0, 1, 1])
    np.testing.assert_array_equal(c, [2, 3, 13, 13])
    # need 3 of 3: row 0 gives up after c disagrees (cost 3 + 10)
    q, c = replay_mode(t, keys, ("consensus", (0, 1, 2), 3, 3))
    np.testing.assert_array_equal(c, [13, 12, 12, 12])
    # plurality vote of a, b, c: all three paid; a three-way split keeps the first
    q, c = replay_mode(t, keys, ("vote", (0, 1, 2), 0, -1))
    np.testing.assert_array_equal(q, [1, 0, 0, 0])
    np.testing.assert_array_equal(c, [3, 3, 3, 3])


def test_hostile_responses_are_only_parsed() -> None:
    evil = ["__import__('os').system('echo pwned')", "A" * 100_000, "\x00\ud800", None]
    t = table([evil, evil[::-1], evil, evil], [[0, 0, 0, 1]] * 4)
    keys = answer_keys(t)
    assert keys.shape == (4, 4)
    assert (keys[:, 3] < 0).all()  # a missing answer has a key of its own


def test_per_task_choice_on_train_and_report() -> None:
    rng = np.random.default_rng(0)
    answers, correct, tasks, splits = [], [], [], []
    for i in range(400):
        right = rng.random(4) < [0.7, 0.7, 0.7, 0.95]
        ans = ["A" if r else rng.choice(["B", "C", "D"]) for r in right]
        answers.append(ans)
        correct.append(right.astype(float).tolist())
        tasks.append("mc")
        splits.append("train" if i < 300 else "test")
    t = table(answers, correct, tasks, splits)
    train, test = t.split("train"), t.split("test")
    assert comparable_tasks(train, answer_keys(train)) == {"mc"}
    report = post_generation_report(train, test, "strong")
    costs = [p["cost"] for p in report["points"]]
    assert costs == sorted(costs) and len(report["points"]) >= 2
    assert report["points"][-1]["quality"] >= report["points"][0]["quality"]
    cascades = [p for p in report["points"] if "agreeing" in p["modes"]["mc"]]
    assert cascades, "a consensus cascade is on the train front when cheap models agree on right answers"
    assert "Δ vs ref" in format_post_generation(report)


def test_shared_routerbench_post_generation_front() -> None:
    t = load_outcomes(shared("routerbench_via_routerdc"))
    report = post_generation_report(t.split("train"), t.split("test"), "gpt-4-1106-preview")
    assert {"arc-challenge", "winogrande"} <= set(report["comparable_tasks"])
    gpt4 = float(np.nanmean(t.split("test").quality[:, t.model_index("gpt-4-1106-preview")]))
    at_half = [p for p in report["points"] if p["cost_share"] <= 0.5]
    assert max(p["quality"] for p in at_half) > 0.86  # measured 0.875 at 49 % of GPT-4's cost
    assert max(p["quality"] for p in report["points"]) <= gpt4 + 0.01
    with pytest.raises(ValueError):
        answer_keys(replace(t.select(np.arange(3)), responses=None))


def test_modes_at_cost_caps_are_the_train_optimum_and_ignore_test_labels() -> None:
    rng = np.random.default_rng(1)
    answers, correct, tasks, splits = [], [], [], []
    for i in range(600):
        task = ("mc", "other", "third")[i % 3]
        p = {"mc": [0.7, 0.6, 0.5, 0.95], "other": [0.4, 0.8, 0.6, 0.9], "third": [0.6, 0.6, 0.6, 0.7]}[task]
        right = rng.random(4) < p
        answers.append(["A" if r else str(rng.choice(["B", "C", "D"])) for r in right])
        correct.append(right.astype(float).tolist())
        tasks.append(task)
        splits.append("train" if i < 420 else "test")
    t = table(answers, correct, tasks, splits)
    train, test = t.split("train"), t.split("test")
    report = post_generation_report(train, test, "strong")
    capped = report["points_at_caps"]
    assert capped and all(p["train_cost_share"] <= p["cap"] + 1e-9 for p in capped)
    # brute force over every per-task choice on train: no choice that fits a cap has a better train quality
    keys = answer_keys(train)
    per_task = {}
    for task in ("mc", "other", "third"):
        on = train.tasks == task
        per_task[task] = [(float(q.mean()), float(c.mean()))
                          for q, c in (replay_mode(train.select(on), keys[on], m) for m in candidate_modes(train.select(on)))]
    weights = {task: float((test.tasks == task).mean()) for task in per_task}
    ref_cost = sum(w * 10.0 for w in weights.values())
    combos = [(sum(weights[t] * per_task[t][k][1] for t, k in zip(per_task, ks)),
               sum(weights[t] * per_task[t][k][0] for t, k in zip(per_task, ks)))
              for ks in np.ndindex(*(len(v) for v in per_task.values()))]
    for p in capped:
        best = max(q for c, q in combos if c <= p["cap"] * ref_cost * (1 + 1e-9))
        assert p["train_quality"] == pytest.approx(best, abs=1e-12)
    # the choices are made on train: flipping every test label changes no mode
    flipped = replace(test, quality=1.0 - test.quality)
    assert [p["modes"] for p in post_generation_report(train, flipped, "strong")["points_at_caps"]] == \
        [p["modes"] for p in capped]
    assert "train cap" in format_post_generation(report)
