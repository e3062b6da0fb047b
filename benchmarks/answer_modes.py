"""Modes over recorded answers on RouterBench ARC-Challenge + Winogrande (11 models, option letters): single model,
plurality vote of k distinct models, and consensus early-stopping cascades, replayed exactly; chosen on train, replayed
on test, with paired bootstrap intervals against GPT-4; plus a ceiling for vote-then-escalate policies.

* vote-k: k distinct cheap models all answer; the most common option letter wins (ties → the answer of the model
  strongest on train). Cost = the k calls.
* consensus cascade (S, a): the cheap models of S answer one by one (cheapest first); stop as soon as one letter has
  ``a`` votes (keep it); escalate to GPT-4 as soon as no letter can reach ``a`` any more. ``a = |S|`` is the agreement
  cascade of ``cascade_quality.py``; ``a < |S|`` stops on a partial majority (DyLAN-style consensus early stopping).
* ceiling: for a set S of cheap models all called, rows grouped by (task, which models agree with the plurality
  answer); each group kept or escalated to GPT-4 **using the test labels** (fractional knapsack under the budget).
  Any policy that calls all of S and decides from their agreement pattern is at most this.

    python benchmarks/answer_modes.py [--data ../shared/data/routerbench_via_routerdc] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from router_plugins.judges import extract_choice
from router_plugins.replay import OutcomeTable, bootstrap_ci, load_outcomes

ROOT = Path(__file__).resolve().parent
GPT4 = "gpt-4-1106-preview"


def letters(table: OutcomeTable) -> NDArray[np.int64]:
    """Option letter (as its code point) each model answered on each row; a unique negative code where unreadable."""
    out = np.zeros(table.quality.shape, dtype=np.int64)
    for (i, j), response in np.ndenumerate(table.responses):
        choice = extract_choice(str(response)) if response is not None else None
        out[i, j] = ord(choice) if choice else -(1000 + j)  # unreadable answers never agree with anything
    return out


def consensus(table: OutcomeTable, answers: NDArray[np.int64], seq: tuple[int, ...], need: int, final: int | None
              ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-row quality and cost of the consensus cascade (``final`` None: no escalation, plurality of ``seq``)."""
    n = len(table)
    q_all, c_all = np.nan_to_num(table.quality), np.nan_to_num(table.cost)
    quality, cost = np.zeros(n), np.zeros(n)
    open_rows = np.ones(n, dtype=bool)
    escalate = np.zeros(n, dtype=bool)
    seen = answers[:, list(seq)]
    for step, j in enumerate(seq):
        cost[open_rows] += c_all[open_rows, j]
        # votes of each row's answers among the first step+1 models
        votes = (seen[:, : step + 1, None] == seen[:, None, : step + 1]).sum(1)
        top = votes.max(1)
        hit = open_rows & (top >= need)
        first = np.argmax(votes == top[:, None], axis=1)
        quality[hit] = q_all[hit, np.array(seq)[first[hit]]]
        left = len(seq) - step - 1
        give_up = open_rows & ~hit & (top + left < need)
        escalate |= give_up
        open_rows &= ~hit & ~give_up
    escalate |= open_rows
    if final is None:
        votes = (seen[:, :, None] == seen[:, None, :]).sum(1)
        first = np.argmax(votes == votes.max(1)[:, None], axis=1)
        quality[escalate] = q_all[escalate, np.array(seq)[first[escalate]]]
    else:
        quality[escalate] = q_all[escalate, final]
        cost[escalate] += c_all[escalate, final]
    return quality, cost


def vote(table: OutcomeTable, answers: NDArray[np.int64], seq: tuple[int, ...]
         ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-row quality and cost of a plurality vote of ``seq`` (all called; ties → the earliest in ``seq``)."""
    q_all, c_all = np.nan_to_num(table.quality), np.nan_to_num(table.cost)
    seen = answers[:, list(seq)]
    votes = (seen[:, :, None] == seen[:, None, :]).sum(1)
    first = np.argmax(votes == votes.max(1)[:, None], axis=1)
    return q_all[np.arange(len(table)), np.array(seq)[first]], c_all[:, list(seq)].sum(1)


def replay(table: OutcomeTable, answers: NDArray[np.int64], cand: tuple[str, tuple[int, ...], int, int | None]
           ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-row quality and cost of one candidate mode."""
    kind, seq, need, final = cand
    if kind == "single":
        return np.nan_to_num(table.quality[:, seq[0]]), np.nan_to_num(table.cost[:, seq[0]])
    if kind == "vote":
        return vote(table, answers, seq)
    return consensus(table, answers, seq, need, final)


def front(points: list[tuple[Any, float, float]]) -> list[tuple[Any, float, float]]:
    """Cost–quality Pareto front (ascending cost, strictly rising quality)."""
    out, best = [], -np.inf
    for p in sorted(points, key=lambda p: (p[2], -p[1])):
        if p[1] > best + 1e-12:
            out.append(p)
            best = p[1]
    return out


def ceiling(test: OutcomeTable, answers: NDArray[np.int64], cheap: list[int], g: int, budget: float
            ) -> tuple[float, list[str]]:
    """Best ceiling over cheap sets S (see module docstring) at ``budget`` × GPT-4's cost."""
    q_all, c_all = np.nan_to_num(test.quality), np.nan_to_num(test.cost)
    g4 = c_all[:, g].mean()
    best = (0.0, [])
    for k in range(1, len(cheap) + 1):
        for s in itertools.combinations(cheap, k):
            base = c_all[:, list(s)].sum(1).mean() / g4
            if base >= budget:
                continue
            seen = answers[:, list(s)]
            votes = (seen[:, :, None] == seen[:, None, :]).sum(1)
            first = np.argmax(votes == votes.max(1)[:, None], axis=1)
            cand = seen[np.arange(len(test)), first]
            qa = q_all[np.arange(len(test)), np.array(s)[first]]
            pattern = np.column_stack([seen == cand[:, None], test.tasks == "arc-challenge"]).astype(np.int64)
            _, group = np.unique(pattern, axis=0, return_inverse=True)
            items = []
            for gi in np.unique(group):
                rows = group.ravel() == gi
                gain = float((q_all[rows, g] - qa[rows]).sum())
                cost = float(c_all[rows, g].sum() / g4 / len(test))
                if gain > 0:
                    items.append((gain / max(cost, 1e-12), gain, cost))
            left, total = budget - base, float(qa.sum())
            for _, gain, cost in sorted(items, reverse=True):
                take = min(1.0, left / cost) if cost > 0 else 1.0
                total += gain * take
                left -= cost * take
                if left <= 0:
                    break
            if total / len(test) > best[0]:
                best = (total / len(test), [test.models[j] for j in s])
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared" / "data" / "routerbench_via_routerdc")
    ap.add_argument("--out", type=Path, default=ROOT / "results")
    args = ap.parse_args()
    table = load_outcomes(args.data)
    mc = table.select(table.tasks != "mbpp")
    train, test = mc.split("train"), mc.split("test")
    a_train, a_test = letters(train), letters(test)
    g = mc.model_index(GPT4)
    g4_train, g4_test = float(np.nanmean(train.cost[:, g])), float(np.nanmean(test.cost[:, g]))
    cheap = sorted((j for j in range(len(mc.models)) if np.nanmean(train.cost[:, j]) < 0.15 * g4_train),
                   key=lambda j: float(np.nanmean(train.cost[:, j])))
    candidates: list[tuple[str, tuple[int, ...], int, int | None]] = [
        ("single", (j,), 1, None) for j in range(len(mc.models))]
    for k in (3, 5):  # votes of k distinct cheap models, no escalation
        by_quality = sorted(cheap, key=lambda j: -float(np.nanmean(train.quality[:, j])))  # ties → the strongest
        candidates += [("vote", s, k, None) for s in itertools.combinations(by_quality, k)]
    for k in range(1, 6):  # consensus early stopping, then GPT-4
        for s in itertools.combinations(cheap, k):
            candidates += [("consensus", s, a, g) for a in range(max(1, k // 2 + 1), k + 1)]
    scored = []
    for cand in tqdm(candidates, desc="train replay"):
        q, c = replay(train, a_train, cand)
        scored.append((cand, float(q.mean()), float(c.mean()) / g4_train))
    rows = []
    q_g4 = np.nan_to_num(test.quality[:, g])
    for (kind, s, need, final), q_tr, c_tr in front(scored):
        q, c = replay(test, a_test, (kind, s, need, final))
        lo, hi = bootstrap_ci(q - q_g4)
        rows.append({"mode": kind, "models": [mc.models[j].split("/")[-1] for j in s], "need": need,
                     "escalate_to": None if final is None else GPT4, "train_quality": q_tr, "train_cost_share": c_tr,
                     "test_quality": float(q.mean()), "test_cost_share": float(c.mean()) / g4_test,
                     "test_minus_gpt4": float((q - q_g4).mean()), "ci95": [lo, hi]})
    bound50 = ceiling(test, a_test, cheap, g, 0.5)
    result = {"n_train": len(train), "n_test": len(test), "gpt4_test_quality": float(q_g4.mean()),
              "candidates": len(candidates), "front": rows,
              "ceiling_at_50pct": {"quality": bound50[0], "models": bound50[1]}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "answer_modes.json").write_text(json.dumps(result, indent=1))
    print(f"RouterBench ARC-Challenge + Winogrande: {len(train)} train / {len(test)} test rows; GPT-4 test quality "
          f"{q_g4.mean():.3f}; {len(candidates)} candidate modes, {len(rows)} on the train front\n")
    print("| mode (train front) | models | need | train q | test q | test cost / GPT-4 | test − GPT-4 [95 % paired CI] |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {' → '.join(r['models'])}{' → GPT-4' if r['escalate_to'] else ''} | {r['need']} | "
              f"{r['train_quality']:.3f} | {r['test_quality']:.3f} | {r['test_cost_share']:.3f} | "
              f"{r['test_minus_gpt4']:+.3f} [{r['ci95'][0]:+.3f}, {r['ci95'][1]:+.3f}] |")
    print(f"\nCeiling at ≤ 50 % of GPT-4's cost for call-all-of-S-then-escalate-by-agreement-pattern policies "
          f"(groups chosen on test labels): {bound50[0]:.4f} with S = {bound50[1]}")


if __name__ == "__main__":
    main()
