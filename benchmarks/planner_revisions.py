"""Whole-plan time of team planning at two git revisions, each in its own interpreter, rounds alternating.

``planner_before_after.py`` swaps one function in one process; this compares whole checkouts (context, cost
estimate, stage plugins and search), so any change to the planning path shows. The earlier revision is checked out
with ``git worktree`` into a temporary folder and imported from there (``PYTHONPATH``); both sides plan the same
queries, teams, pools and budgets as ``overhead.py``'s team sweep. Each round runs both sides once, in alternating
order, so load from other processes falls on both alike; the figure is the median over rounds of each side's CPU p50
per plan (``time.process_time``), with the ratio new / before per row, and every plan's (cost, quality) is checked
equal on both sides.

    python benchmarks/planner_revisions.py --before REV [--rounds 5] [--n 100] [--sizes 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
sys.path.insert(0, {bench!r})
import overhead as ob
from router_plugins import PlanOptions, Query, Router
from router_plugins.replay import load_outcomes
from router_plugins.replay.demo import embedded_data_path, task_prior_pool

n, sizes = {n}, {sizes}
table = load_outcomes(embedded_data_path())
test = table.split("test")
base = task_prior_pool(table, table.split("train"))
queries = [Query(text=f"{{test.texts[i * len(test) // n % len(test)]}} [{{i}}] (team)",
                 task=str(test.tasks[i * len(test) // n % len(test)])) for i in range(n)]
out = {{}}
for pool_name, pool in (("demo", base), ("front9", ob.front_pool(base))):
    router = Router(pool, lam=100.0, load_entrypoints=False, disable_plugins=[ob.TRAINED])
    for size in sizes:
        roles = ob.team(size)
        for q in queries[:10]:
            router.plan(q, roles, PlanOptions(budget_usd=1.0))
        cheapest = [router.plan(q, roles, PlanOptions(lam=1e9, budget_usd=1.0)).cost_usd for q in queries]
        for label, budgets in (("budget1", [1.0] * n), ("tight", [1.3 * c for c in cheapest])):
            cpu, plans = [], []
            for q, budget in zip(queries, budgets):
                start = time.process_time()
                plan = router.plan(q, roles, PlanOptions(budget_usd=budget))
                cpu.append((time.process_time() - start) * 1e3)
                plans.append((plan.cost_usd, plan.quality))
            out[f"{{pool_name}}_{{size}}roles_{{label}}"] = {{"cpu_p50_ms": ob.percentile(cpu, 50), "plans": plans}}
print(json.dumps(out))
"""


def side(source: Path, n: int, sizes: list[int]) -> dict[str, Any]:
    """One run of the timing child against the checkout at ``source``."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    code = CHILD.format(bench=str(source / "benchmarks"), n=n, sizes=sizes)
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=source, check=True, capture_output=True,
                          text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision to compare this checkout with")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=100, help="plans per row and round")
    ap.add_argument("--sizes", type=int, nargs="+", default=[20])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(before), args.before], cwd=ROOT, check=True)
        try:
            runs: dict[str, list[dict[str, Any]]] = {"new": [], "before": []}
            for r in range(args.rounds):
                order = ("new", "before") if r % 2 == 0 else ("before", "new")
                for name in order:
                    runs[name].append(side(ROOT if name == "new" else before, args.n, args.sizes))
                print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=True)
    table: dict[str, Any] = {"before": args.before, "rounds": args.rounds, "n": args.n}
    for row in runs["new"][0]:
        new = statistics.median(run[row]["cpu_p50_ms"] for run in runs["new"])
        old = statistics.median(run[row]["cpu_p50_ms"] for run in runs["before"])
        same = runs["new"][0][row]["plans"] == runs["before"][0][row]["plans"]
        table[row] = {"new_cpu_p50_ms": round(new, 3), "before_cpu_p50_ms": round(old, 3),
                      "ratio": round(new / old, 3), "same_plans": same}
        print(f"{row:28s} new {new:6.2f} ms  before {old:6.2f} ms  ratio {new / old:.3f}  same plans: {same}")
    print(json.dumps(table))


if __name__ == "__main__":
    main()
