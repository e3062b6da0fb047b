"""How far a response-aware cascade gets on RouterBench: an upper reference for pre-generation routers.

Replays "agreement cascades" exactly from the 11 models' recorded answers (routerbench_via_routerdc; ARC-Challenge and
Winogrande answers are option letters): call up to three cheap models in order, accept the answer as soon as ``need``
of them agree, otherwise call GPT-4. Every call is paid (recorded USD cost). Policies are enumerated and their
Pareto front is chosen on the **train** split only, then replayed on **test**. MBPP answers are programs, so no
agreement can be replayed there: MBPP rows go to the cheapest model within 2 points of the best train MBPP quality
(chosen on train). "overall, MBPP free+perfect" is the bound if every MBPP row were answered right at no cost.
Prints the front and the overall figures against GPT-4.

    python benchmarks/routerbench_cascade.py [--data-root ../shared/data]
"""

from __future__ import annotations

import argparse
import ast
import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
BEST = "gpt-4-1106-preview"


def letter(response: object) -> str | None:
    """The option letter a model answered (first standalone A–E near the start), None if there is none."""
    if not isinstance(response, str):
        return None
    text = ast.literal_eval(response)[0] if response.startswith("[") else response
    m = re.search(r"\b([A-E])\b", str(text).strip()[:40])
    return m.group(1) if m else None


def replay(d: pd.DataFrame, seq: tuple[str, ...], need: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row quality and cost of one cascade policy."""
    answers = d[[f"{m}|answer" for m in seq]].to_numpy()
    quality, cost = d[list(seq)].to_numpy(), np.nan_to_num(d[[f"{m}|total_cost" for m in seq]].to_numpy())
    q_out, c_out = d[BEST].to_numpy().astype(float), d[f"{BEST}|total_cost"].to_numpy().copy()
    for i in range(len(d)):
        votes: dict[str, list[int]] = {}
        for j in range(len(seq)):
            a = answers[i, j]
            if a is not None:
                votes.setdefault(a, []).append(j)
            if a is not None and len(votes[a]) >= need:
                q_out[i], c_out[i] = quality[i, votes[a][0]], cost[i, : j + 1].sum()
                break
        else:
            c_out[i] += cost[i].sum()
    return q_out, c_out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    args = ap.parse_args()
    df = pd.read_csv(args.data_root / "routerbench_via_routerdc" / "routerbench_arc_mbpp_winogrande.csv.gz")
    models = [c for c in df.columns if f"{c}|total_cost" in df.columns]
    for m in models:
        df[f"{m}|answer"] = df[f"{m}|model_response"].map(letter)
    train, test = df[df.split == "train"], df[df.split == "test"]
    mc_train, mc_test = train[train.eval_name != "mbpp"], test[test.eval_name != "mbpp"]
    cost_best = test[f"{BEST}|total_cost"].mean()
    cheap = [m for m in models if train[f"{m}|total_cost"].mean() < 0.1 * train[f"{BEST}|total_cost"].mean()]

    mbpp_train = train[train.eval_name == "mbpp"]
    acc = {m: mbpp_train[m].mean() for m in models}
    good = [m for m in models if acc[m] >= max(acc.values()) - 0.02]
    mbpp_model = min(good, key=lambda m: mbpp_train[f"{m}|total_cost"].mean())
    mbpp_test = test[test.eval_name == "mbpp"]
    mbpp_q, mbpp_c = mbpp_test[mbpp_model].mean(), mbpp_test[f"{mbpp_model}|total_cost"].mean()

    policies = []
    for k in (1, 2, 3):
        for seq in itertools.permutations(cheap, k):
            for need in range(1 if k == 1 else 2, k + 1):
                q, c = replay(mc_train, seq, need)
                policies.append((float(np.nanmean(q)), float(c.mean()), seq, need))
    policies.sort(key=lambda p: (p[1], -p[0]))
    front, best_q = [], -1.0
    for p in policies:
        if p[0] > best_q:
            front.append(p)
            best_q = p[0]
    n_mc, n_mbpp = len(mc_test), len(mbpp_test)
    print(f"test: GPT-4 {test[BEST].mean():.4f} at ${cost_best:.2e}/query overall; MBPP rows → {mbpp_model} "
          f"(test MBPP {mbpp_q:.3f} at ${mbpp_c:.2e}); {len(policies)} policies, {len(front)} on the train front\n")
    print("| cascade (cheap models in order → GPT-4) | need | train MC q | test MC q | test overall q | "
          "overall cost / GPT-4 | overall q, MBPP free+perfect | its cost / GPT-4 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for q_tr, _, seq, need in front:
        q, c = replay(mc_test, seq, need)
        overall_q = (np.nansum(q) + mbpp_q * n_mbpp) / (n_mc + n_mbpp)
        overall_c = (c.sum() + mbpp_c * n_mbpp) / (n_mc + n_mbpp)
        names = " → ".join(s.split("/")[-1] for s in seq)
        bound_q, bound_c = (np.nansum(q) + n_mbpp) / (n_mc + n_mbpp), c.sum() / (n_mc + n_mbpp)
        print(f"| {names} | {need} | {q_tr:.3f} | {np.nanmean(q):.3f} | {overall_q:.3f} | {overall_c / cost_best:.2f} "
              f"| {bound_q:.3f} | {bound_c / cost_best:.2f} |")


if __name__ == "__main__":
    main()
