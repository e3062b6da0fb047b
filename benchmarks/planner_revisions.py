"""Whole-plan time of team planning at two git revisions, each in its own interpreter, rounds alternating.

``planner_before_after.py`` swaps one function in one process; this compares whole checkouts (context, cost
estimate, stage plugins and search), so any change to the planning path shows. The earlier revision is checked out
with ``git worktree`` into a temporary folder and imported from there (``PYTHONPATH``); both sides plan the same
queries, teams, pools and budgets as ``overhead.py``'s team sweep. Both interpreters stay up and take turns on
batches of 10 plans (the order alternating), so load from other processes falls on both alike; the figure is each
side's CPU p50 per plan (``time.process_time``) and the ratio new / before per row, and every plan's (cost,
quality) is checked equal on both sides.

    python benchmarks/planner_revisions.py --before REV [--n 200] [--sizes 10 20 40]
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

n = {n}
table = load_outcomes(embedded_data_path())
test = table.split("test")
base = task_prior_pool(table, table.split("train"))
queries = [Query(text=f"{{test.texts[i * len(test) // n % len(test)]}} [{{i}}] (team)",
                 task=str(test.tasks[i * len(test) // n % len(test)])) for i in range(n)]
routers = {{name: Router(pool, lam=100.0, load_entrypoints=False, disable_plugins=[ob.TRAINED])
            for name, pool in (("demo", base), ("front9", ob.front_pool(base)))}}
budgets = {{}}
print("ready", flush=True)
for line in sys.stdin:  # one batch per line: {{"pool", "size", "budget", "start", "stop"}}
    job = json.loads(line)
    router, roles = routers[job["pool"]], ob.team(job["size"])
    key = (job["pool"], job["size"])
    if key not in budgets:  # warm-up, and the tight budget of each query (1.3 × its cheapest plan)
        for q in queries[:10]:
            router.plan(q, roles, PlanOptions(budget_usd=1.0))
        budgets[key] = [1.3 * router.plan(q, roles, PlanOptions(lam=1e9, budget_usd=1.0)).cost_usd for q in queries]
    out = []
    for i in range(job["start"], job["stop"]):
        budget = 1.0 if job["budget"] == "budget1" else budgets[key][i]
        start = time.process_time()
        plan = router.plan(queries[i], roles, PlanOptions(budget_usd=budget))
        out.append(((time.process_time() - start) * 1e3, plan.cost_usd, plan.quality))
    print(json.dumps(out), flush=True)
"""


class Side:
    """A long-lived interpreter planning with the checkout at ``source``: batches go in, CPU ms and plans come out."""

    def __init__(self, source: Path, n: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(source)}
        code = CHILD.format(bench=str(source / "benchmarks"), n=n)
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=source, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def run(self, job: dict[str, Any]) -> list[list[float]]:
        """Plan one batch; (CPU ms, cost, quality) per plan."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        result: list[list[float]] = json.loads(self.proc.stdout.readline())
        return result

    def close(self) -> None:
        """End the interpreter."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision to compare this checkout with")
    ap.add_argument("--n", type=int, default=200, help="plans per row")
    ap.add_argument("--batch", type=int, default=10, help="plans per turn of each side")
    ap.add_argument("--sizes", type=int, nargs="+", default=[20])
    args = ap.parse_args()
    rows = [(pool, size, budget) for pool in ("demo", "front9") for size in args.sizes
            for budget in ("budget1", "tight")]
    table: dict[str, Any] = {"before": args.before, "n": args.n}
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(before), args.before], cwd=ROOT, check=True)
        sides = {"new": Side(ROOT, args.n), "before": Side(before, args.n)}
        try:
            for pool, size, budget in rows:
                got: dict[str, list[list[float]]] = {"new": [], "before": []}
                for turn, start in enumerate(range(0, args.n, args.batch)):
                    job = {"pool": pool, "size": size, "budget": budget, "start": start,
                           "stop": min(args.n, start + args.batch)}
                    for name in (("new", "before") if turn % 2 == 0 else ("before", "new")):
                        got[name].extend(sides[name].run(job))
                new, old = (statistics.median(p[0] for p in got[k]) for k in ("new", "before"))
                same = [p[1:] for p in got["new"]] == [p[1:] for p in got["before"]]
                row = f"{pool}_{size}roles_{budget}"
                table[row] = {"new_cpu_p50_ms": round(new, 3), "before_cpu_p50_ms": round(old, 3),
                              "ratio": round(new / old, 3), "same_plans": same}
                print(f"{row:28s} new {new:6.2f} ms  before {old:6.2f} ms  ratio {new / old:.3f}  same plans: {same}",
                      flush=True)
        finally:
            for side in sides.values():
                side.close()
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=True)
    print(json.dumps(table))


if __name__ == "__main__":
    main()
