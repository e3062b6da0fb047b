"""Team planning time, this checkout's search against an earlier revision's, side by side in one process.

The earlier ``router_plugins/_frontier.py`` is read from git (``--before``, default the commit before the
required-role sweep) and swapped in for ``planner.search``; everything else (router, hooks, candidates) is shared.
The two searches alternate query by query, so load from other processes falls on both alike. "new, cold" clears the
vote-value memo before every plan (what a plan pays when its qualities are new, e.g. from a trained scorer).
Teams, pools and budgets as ``overhead.py``'s team sweep. Prints JSON: p50 wall and CPU ms per plan, and the largest
objective difference between the searches (0 = both exact).

    python benchmarks/planner_before_after.py [--before REV] [--n 200] [--sizes 10 20 40]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import overhead as ob

from router_plugins import PlanOptions, Query, Router, _frontier, planner
from router_plugins.replay import load_outcomes
from router_plugins.replay.demo import embedded_data_path, task_prior_pool

ROOT = Path(__file__).resolve().parents[1]


def search_at(rev: str) -> Any:
    """``search`` of ``router_plugins/_frontier.py`` as it was at ``rev``."""
    source = subprocess.run(["git", "show", f"{rev}:router_plugins/_frontier.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("_frontier_before")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    # the project's own source at an earlier commit of this repository, not outside input
    exec(compile(source, f"{rev}:_frontier.py", "exec"), module.__dict__)  # noqa: S102
    return module.search


def run(router: Router, queries: list[Query], roles: list[Any], budgets: list[float], before: Any
        ) -> dict[str, float]:
    """p50 wall / CPU ms per plan for each search, alternating per query; the largest objective gap."""
    current = planner.search
    times: dict[str, list[float]] = {"new": [], "new_cold": [], "before": []}
    cpu: dict[str, list[float]] = {k: [] for k in times}
    gap = 0.0
    lam = router.options.lam or 0.0
    for q, budget in zip(queries, budgets):
        objective = {}
        for name in ("before", "new_cold", "new"):
            planner.search = before if name == "before" else current
            if name == "new_cold":
                _frontier._group_votes.cache_clear()
            start, start_cpu = time.perf_counter(), time.process_time()
            plan = router.plan(q, roles, PlanOptions(budget_usd=budget))
            times[name].append((time.perf_counter() - start) * 1e3)
            cpu[name].append((time.process_time() - start_cpu) * 1e3)
            objective[name] = plan.quality - lam * plan.cost_usd if plan.quality is not None else -math.inf
        planner.search = current
        gap = max(gap, abs(objective["new"] - objective["before"]))
    out = {f"{k}_p50_ms": round(ob.percentile(v, 50), 3) for k, v in times.items()}
    out.update({f"{k}_cpu_p50_ms": round(ob.percentile(v, 50), 3) for k, v in cpu.items()})
    out["max_objective_gap"] = gap
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="711acac", help="git revision of the earlier search")
    ap.add_argument("--n", type=int, default=200, help="plans per row")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 40])
    args = ap.parse_args()
    before = search_at(args.before)
    table = load_outcomes(embedded_data_path())
    test = table.split("test")
    pool = task_prior_pool(table, table.split("train"))
    queries = [Query(text=f"{test.texts[i * len(test) // args.n % len(test)]} [{i}] (team)",
                     task=str(test.tasks[i * len(test) // args.n % len(test)])) for i in range(args.n)]
    result: dict[str, Any] = {"before": args.before}
    for pool_name, p in (("demo", pool), ("front9", ob.front_pool(pool))):
        router = Router(p, lam=100.0, load_entrypoints=False, disable_plugins=[ob.TRAINED])
        for n in args.sizes:
            roles = ob.team(n)
            for q in queries[:10]:  # warm-up (imports, first-call costs)
                router.plan(q, roles, PlanOptions(budget_usd=1.0))
            cheapest = [router.plan(q, roles, PlanOptions(lam=1e9, budget_usd=1.0)).cost_usd for q in queries]
            for label, budgets in (("budget1", [1.0] * len(queries)), ("tight", [1.3 * c for c in cheapest])):
                row = run(router, queries, roles, budgets, before)
                result[f"{pool_name}_{n}roles_{label}"] = row
                print(pool_name, n, label, row, flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
