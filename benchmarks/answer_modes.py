"""Modes over recorded answers (``router_plugins.replay.post_generation``): per task, single model, plurality vote of 3
distinct cheap models, or a consensus early-stopping cascade, chosen on train and replayed exactly on test, with
paired bootstrap intervals against GPT-4; plus a ceiling for vote-then-escalate policies at 50 % of GPT-4's cost.

* RouterBench ARC-Challenge + Winogrande (11 models, option letters), and all three tasks (MBPP answers compared by
  their last number, a weak but exact signal);
* RouteLLM GSM8K (Mixtral, GPT-4): with two models the only modes are the two singles and Mixtral → GPT-4 on
  "agreement of one", i.e. no escalation signal from answers alone (the trained judge of cascade_quality.py is that
  signal);
* ceiling: for a set S of cheap models all called, rows grouped by (task, which models agree with the plurality
  answer); each group kept or escalated to GPT-4 **using the test labels** (fractional knapsack under the budget).
  Any policy that calls all of S and decides from their agreement pattern is at most this.

    python benchmarks/answer_modes.py [--data-root ../shared/data] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.replay import OutcomeTable, load_outcomes
from router_plugins.replay.post_generation import answer_keys, format_post_generation, post_generation_report

ROOT = Path(__file__).resolve().parent
GPT4 = "gpt-4-1106-preview"


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


def at_share(report: dict[str, Any], share: float) -> dict[str, Any] | None:
    """The best-quality λ point costing at most ``share`` of the reference."""
    ok = [p for p in report["points"] if p["cost_share"] is not None and p["cost_share"] <= share + 1e-12]
    return max(ok, key=lambda p: (p["quality"], -p["cost"])) if ok else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parent.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "results")
    args = ap.parse_args()
    rb = load_outcomes(args.data_root / "routerbench_via_routerdc")
    gsm = load_outcomes(args.data_root / "routellm_gpt4_mixtral")
    gsm = gsm.select(gsm.tasks == "gsm8k")
    mc = rb.select(rb.tasks != "mbpp")
    result: dict[str, Any] = {}
    for name, t, share in (("routerbench_arc_winogrande", mc, 0.5), ("routerbench_all", rb, 0.65),
                           ("routellm_gsm8k", gsm, 0.45)):
        report = post_generation_report(t.split("train"), t.split("test"), GPT4)
        best = at_share(report, share)
        result[name] = {"report": report, f"best_at_{share:.2f}_of_gpt4_cost": best}
        print(f"\n## {name} (test {len(t.split('test'))} rows)\n")
        print(format_post_generation(report))
        if best:
            d = best["vs_reference"]
            print(f"best at ≤ {share:.0%} of GPT-4's cost: {best['quality']:.4f} at {best['cost_share']:.3f} "
                  f"(vs GPT-4 {d['diff']:+.4f} [{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}])")
    test = mc.split("test")
    keys = answer_keys(test)
    g = test.model_index(GPT4)
    g4 = float(np.nanmean(mc.split("train").cost[:, g]))
    cheap = [j for j in range(len(mc.models)) if np.nanmean(mc.split("train").cost[:, j]) < 0.15 * g4]
    bound = ceiling(test, keys, cheap, g, 0.5)
    result["ceiling_arc_winogrande_50pct"] = {"quality": bound[0], "models": bound[1]}
    print(f"\nCeiling at ≤ 50 % of GPT-4's cost (ARC + Winogrande) for call-all-of-S-then-escalate-by-agreement-"
          f"pattern policies (groups chosen on test labels): {bound[0]:.4f} with S = {bound[1]}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "answer_modes.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
