"""Does the planner predict majority votes right? Its vote model against votes replayed from recorded answers.

The planner scores a group of voters with ``vote_quality`` (Poisson-binomial over distinct models, from each model's
expected quality), which decides whether extra voters are worth their cost. Here every 3-model group of the 11
RouterBench models votes on the multiple-choice test rows (ARC-Challenge, Winogrande) with the answers they really
gave (option letters extracted from the recorded responses): the vote is right when ≥ 2 members are right, wrong when
the two wrong members agree, and right with chance 1/3 on a three-way split. The prediction uses each model's
per-task accuracy on **train**. Prints bias and error of the prediction and how often it gets "the vote beats its
best member" right; writes JSON.

    python benchmarks/vote_calibration.py --data ../shared/data/routerbench_via_routerdc
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from router_plugins.judges import extract_choice
from router_plugins.replay import OutcomeTable, load_outcomes
from router_plugins.planner import vote_quality

ROOT = Path(__file__).resolve().parent
MC_TASKS = ("arc-challenge", "winogrande")


def letters(table: OutcomeTable) -> np.ndarray:
    """The option letter each model answered on each row (None when none can be read)."""
    out = np.empty(table.quality.shape, dtype=object)
    for (i, j), response in np.ndenumerate(table.responses):
        out[i, j] = extract_choice(str(response)) if response is not None else None
    return out


def replayed_vote(table: OutcomeTable, answers: np.ndarray, group: list[int]) -> float:
    """Mean correctness of the group's majority vote over the rows where every member has an outcome."""
    q = table.quality[:, group]
    scores = []
    for i in np.flatnonzero(~np.isnan(q).any(axis=1)):
        right = int(q[i].sum())
        if right != 1:
            scores.append(float(right >= 2))
            continue
        wrong = [answers[i, group[k]] for k in range(3) if q[i, k] == 0]
        scores.append(0.0 if wrong[0] is not None and wrong[0] == wrong[1] else 1 / 3)
    return float(np.mean(scores))


def predicted_vote(train: OutcomeTable, rows: OutcomeTable, group: list[int]) -> float:
    """The planner's vote prediction from train per-task accuracies, weighted by the rows' task mix."""
    total = 0.0
    for task in MC_TASKS:
        on_train = train.tasks == task
        qs = [(train.models[j], float(np.nanmean(train.quality[on_train, j]))) for j in group]
        total += float(np.mean(rows.tasks == task)) * vote_quality(qs)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parents[1] / "shared" / "data" / "routerbench_via_routerdc")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "vote_calibration.json")
    args = ap.parse_args()
    table = load_outcomes(args.data)
    table = table.select(np.isin(table.tasks.astype(str), MC_TASKS))
    train, test = table.split("train"), table.split("test")
    answers = letters(test)
    groups = []
    for combo in itertools.combinations(range(len(table.models)), 3):
        group = list(combo)
        best_member = max(float(np.nanmean(test.quality[:, j])) for j in group)
        groups.append({"models": [table.models[j] for j in group], "predicted": predicted_vote(train, test, group),
                       "replayed": replayed_vote(test, answers, group), "best_member": best_member})
    pred = np.array([g["predicted"] for g in groups])
    real = np.array([g["replayed"] for g in groups])
    best = np.array([g["best_member"] for g in groups])
    summary = {
        "groups": len(groups), "test_rows": len(test),
        "mean_predicted": float(pred.mean()), "mean_replayed": float(real.mean()),
        "bias": float((pred - real).mean()), "mae": float(np.abs(pred - real).mean()),
        "correlation": float(np.corrcoef(pred, real)[0, 1]),
        "share_vote_beats_best_member_replayed": float(np.mean(real > best)),
        "share_vote_beats_best_member_predicted": float(np.mean(pred > best)),
        "agreement_on_beats_best_member": float(np.mean((real > best) == (pred > best))),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "groups": groups}, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
