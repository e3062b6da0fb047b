"""Trained-judge cascades as post-generation routers: exact replay checked by hand and against
``router_plugins.escalation.replay_escalation``, thresholds chosen on train only (the judge never sees the evaluated
rows, and changing their labels changes no choice), and bad judges refused. The judge here is a stand-in that reads
a confidence written into each response, so every figure can be recomputed by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from numpy.typing import NDArray

from router_plugins.escalation import Escalation, replay_escalation
from router_plugins.replay import OutcomeTable
from router_plugins.replay.judge_cascade import Confidence, JudgeCascade, judge_cascades, replay_judge_cascade
from router_plugins.replay.post_generation import format_post_generation, post_generation_report

MODELS = ("a", "b", "strong")
COST = [1.0, 2.0, 20.0]


def table(answers: list[list[str]], correct: list[list[float]], split: str, task: str = "qa") -> OutcomeTable:
    n = len(answers)
    return OutcomeTable(name="t", texts=tuple(f"{split} q{i}" for i in range(n)), tasks=np.array([task] * n),
                        splits=np.array([split] * n), models=MODELS, quality=np.array(correct, dtype=np.float64),
                        cost=np.tile(COST, (n, 1)), responses=np.array(answers, dtype=object))


class ReadingJudge:
    """Stand-in factory: its 'judge' reads the confidence after '@' in a response; records what it was fitted on."""

    def __init__(self) -> None:
        self.fitted_on: list[str] = []

    def __call__(self, model: str, queries: Sequence[str], responses: Sequence[str], correct: NDArray[np.float64],
                 earlier: Sequence[Sequence[str]]) -> Confidence:
        self.fitted_on.extend(queries)
        return lambda q, r, e: np.array([float(x.rsplit("@", 1)[1]) if "@" in x else 0.0 for x in r])


def synthetic(n: int, split: str, seed: int) -> OutcomeTable:
    """Cheap answers are right with probability equal to the confidence they carry; the strong model is right 95 %."""
    rng = np.random.default_rng(seed)
    answers, correct = [], []
    for _ in range(n):
        conf = rng.random(2)
        right = rng.random(3) < [*conf, 0.95]
        conf = np.round(conf, 2)  # two decimals: thresholds (observed confidences) print exactly
        answers.append([f"x @{conf[0]:.2f}", f"y @{conf[1]:.2f}", "z"])
        correct.append(right.astype(float).tolist())
    return table(answers, correct, split)


def test_replay_by_hand() -> None:
    t = table([["@0.9", "@0.1", ""], ["@0.2", "@0.8", ""], ["@0.2", "@0.3", ""]],
              [[1, 0, 1], [0, 1, 1], [0, 0, 0]], "test")
    conf = np.array([[0.9, 0.1], [0.2, 0.8], [0.2, 0.3]])
    cascade = JudgeCascade((0, 1), (0.5, 0.7), 2)
    q, c = replay_judge_cascade(t.quality, t.cost, conf, cascade)
    # row 0: a kept (cost 1, right); row 1: a doubted, b kept (1 + 2, right); row 2: both doubted → strong (1+2+20)
    np.testing.assert_array_equal(q, [1, 1, 0])
    np.testing.assert_array_equal(c, [1, 3, 23])
    # without a final model the last cheap answer is always kept
    q, c = replay_judge_cascade(t.quality, t.cost, conf, JudgeCascade((0, 1), (0.5, 0.0), -1))
    np.testing.assert_array_equal(c, [1, 3, 3])
    assert cascade.describe(MODELS) == "a (judge ≥0.5) → b (judge ≥0.7) → strong"


def test_replay_matches_escalation_replay() -> None:
    t = synthetic(200, "test", 1)
    conf = np.array([[float(r.rsplit("@", 1)[1]) for r in row[:2]] for row in t.responses])
    for cascade in (JudgeCascade((0,), (0.4,), 2), JudgeCascade((0, 1), (0.6, 0.3), 2)):
        esc = Escalation(tuple(MODELS[j] for j in (*cascade.chain, cascade.final)), cascade.thresholds)
        cols = [*cascade.chain, cascade.final]
        step_conf = conf[:, list(cascade.chain)]
        expected = replay_escalation(esc, t.quality[:, cols], t.cost[:, cols],
                                     lambda row, steps, sc=step_conf: float(sc[row, steps[-1]]))
        q, c = replay_judge_cascade(t.quality, t.cost, conf[:, [(0, 1).index(j) for j in cascade.chain]], cascade)
        np.testing.assert_array_equal(q, expected[0])
        np.testing.assert_allclose(c, expected[1])


def test_candidates_replay_exactly_and_judge_sees_only_train() -> None:
    train, test = synthetic(300, "train", 2), synthetic(120, "test", 3)
    judge = ReadingJudge()
    found = judge_cascades(judge, train, test, cheap=[0, 1], strong=2)
    assert found and not set(judge.fitted_on) & set(test.texts)
    conf = np.array([[float(r.rsplit("@", 1)[1]) for r in row[:2]] for row in test.responses])
    for cascade, _, _, replay in found[:: max(1, len(found) // 25)]:
        q_rows, c_rows = replay()
        q, c = [], []
        for i in range(len(test)):  # plain loop, as written in the module docstring
            paid, kept = 0.0, None
            for step, (j, t) in enumerate(zip(cascade.chain, cascade.thresholds)):
                paid += COST[j]
                if conf[i, j] >= t or (step == len(cascade.chain) - 1 and cascade.final < 0):
                    kept = test.quality[i, j]
                    break
            if kept is None:
                paid, kept = paid + COST[2], test.quality[i, 2]
            q.append(kept)
            c.append(paid)
        np.testing.assert_array_equal(q_rows, q)
        np.testing.assert_allclose(c_rows, c)


def test_report_choice_is_made_on_train_only() -> None:
    train, test = synthetic(300, "train", 4), synthetic(150, "test", 5)
    report = post_generation_report(train, test, "strong", judge=ReadingJudge())
    judged = [p for p in report["judge_cascade"]["points"] if "judge ≥" in p["modes"]["qa"]]
    assert judged, "with an informative judge, a judge cascade is on the train front"
    assert any("judge ≥" in p["modes"]["qa"] for p in report["points"])
    assert "without_judge" in report and "trained-judge cascades alone" in format_post_generation(report)
    # flip every test label: the chosen modes (thresholds included) stay, the replayed quality changes
    flipped = replace(test, quality=1.0 - test.quality)
    again = post_generation_report(train, flipped, "strong", judge=ReadingJudge())
    assert [p["modes"] for p in again["judge_cascade"]["points"]] == [p["modes"] for p in
                                                                      report["judge_cascade"]["points"]]
    assert [p["quality"] for p in again["points"]] != [p["quality"] for p in report["points"]]
    # the train-chosen point replays by hand: quality and cost from the recorded rows and the written confidences
    point = judged[len(judged) // 2]
    name = point["modes"]["qa"]
    thresholds = tuple(float(part.split("≥")[1].rstrip(")")) for part in name.split(" → ") if "≥" in part)
    chain = tuple(MODELS.index(part.split(" ")[0]) for part in name.split(" → ") if "≥" in part)
    final = 2 if name.endswith("strong") else -1
    conf = np.array([[float(r.rsplit("@", 1)[1]) for r in row[:2]] for row in test.responses])[:, list(chain)]
    q, c = replay_judge_cascade(test.quality, test.cost, conf, JudgeCascade(chain, thresholds, final))
    assert point["quality"] == pytest.approx(q.mean(), abs=1e-12)
    assert point["cost"] == pytest.approx(c.mean(), abs=1e-12)


def test_without_a_judge_no_judge_rows() -> None:
    report = post_generation_report(synthetic(100, "train", 6), synthetic(50, "test", 7), "strong")
    assert "judge_cascade" not in report and "without_judge" not in report
    assert all("judge" not in m for p in report["points"] for m in p["modes"].values())


def test_a_judge_returning_nonsense_is_refused() -> None:
    def bad(model: str, queries: Sequence[str], responses: Sequence[str], correct: NDArray[np.float64],
            earlier: Sequence[Sequence[str]]) -> Confidence:
        return lambda q, r, e: np.full(len(q), 7.0)

    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        judge_cascades(bad, synthetic(60, "train", 8), synthetic(20, "test", 9), cheap=[0], strong=2)


def test_one_class_folds_and_missing_responses() -> None:
    train = synthetic(60, "train", 10)
    always = replace(train, quality=np.column_stack([np.ones(60), train.quality[:, 1:]]))
    found = judge_cascades(ReadingJudge(), always, synthetic(20, "test", 11), cheap=[0], strong=2)
    assert found  # a model right on every train row: constant confidence, no fit attempted
    silent = replace(train, responses=np.array([[None, None, "z"]] * 60, dtype=object))
    assert judge_cascades(ReadingJudge(), silent, synthetic(20, "test", 12), cheap=[0, 1], strong=2) == []
