"""Routing overhead: ms per plan at batch 1, plans/s batched, import time, RSS — planner alone and default router.

Run: ``python benchmarks/overhead.py [--n 2000] [--team-n 200]``. Prints one JSON object. Pool: the embedded demo's nine
models with per-task priors; queries: the embedded test split. In the same run: the planner alone (card priors,
the trained scorer disabled) with a one-role plan (classic routing) and a three-role plan (planner, solver,
optional critic), the default router, whose shipped trained scorer (fast static encoder) knows these models, and the
default router with online learning (OnlineFeedback on a SQLite store); and the privacy guard's detectors on
1 MB texts: prose, and the worst of a set of adversarial inputs built against backtracking regexes. The team sweep
times the planner alone on teams of 1, 3, 10, 20 and 40 roles (one 3-voter group, every third other role optional)
under a $1 budget and under a tight one, with the current optimiser and the pre-issue-15 search (``_legacy_planner``)
side by side on the same queries.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _legacy_planner

from router_plugins import ModelCard, ModelPool, PlanOptions, Query, Role, Router
from router_plugins.guards import private_data
from router_plugins.online import OnlineFeedback
from router_plugins.outcome import Outcome
from router_plugins import planner
from router_plugins.replay import load_outcomes
from router_plugins.replay.demo import embedded_data_path, task_prior_pool

ROLES = [Role("planner"), Role("solver"), Role("critic", optional=True)]
TRAINED = "router_plugins.scorer.plugin"


def import_seconds(repeats: int = 5) -> float:
    """Median wall time of ``import router_plugins`` in a fresh interpreter, minus an empty interpreter."""

    def once(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    base = statistics.median(once("pass") for _ in range(repeats))
    full = statistics.median(once("import router_plugins; from router_plugins import Router") for _ in range(repeats))
    return max(0.0, full - base)


def per_plan_ms(router: Router, queries: list[Query], roles: list[Role] | None) -> list[float]:
    """Wall time of each ``router.plan`` call at batch 1."""
    times = []
    for q in queries:
        start = time.perf_counter()
        router.plan(q, roles=roles)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def batched_rate(router: Router, queries: list[Query]) -> float:
    """Plans per second through ``plan_batch`` (one scoring pass for the whole batch)."""
    start = time.perf_counter()
    router.plan_batch(queries)
    return len(queries) / (time.perf_counter() - start)


def guard_megabyte_ms() -> dict[str, Any]:
    """ms for ``private_data`` on a 1 MB prose text and on the slowest of several 1 MB adversarial texts."""
    n = 1_000_000
    prose = ("The committee reviewed the quarterly figures on 12 March and asked for a revised plan by Friday. " * n
             )[:n]
    adversarial = {"letters": "a" * n, "dots": "a@" + "a." * (n // 2), "at-signs": "a@" * (n // 2),
                   "digit-spaces": "1 " * (n // 2), "digit-dashes": "12-" * (n // 3), "iban-like": "AB12 " * (n // 5),
                   "sk-prefixes": "sk-" * (n // 3), "local-parts": "x.y+z@" * (n // 6)}

    def timed(text: str) -> float:
        start = time.perf_counter()
        private_data(text)
        return (time.perf_counter() - start) * 1e3

    times = {name: timed(text) for name, text in adversarial.items()}
    worst = max(times, key=lambda k: times[k])
    return {"privacy_guard_1mb_prose_ms": round(timed(prose), 1),
            "privacy_guard_1mb_adversarial_median_ms": round(statistics.median(times.values()), 1),
            "privacy_guard_1mb_adversarial_worst_ms": round(times[worst], 1),
            "privacy_guard_1mb_adversarial_worst_input": worst}


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def online_overhead(pool: ModelPool, queries: list[Query]) -> tuple[list[float], list[float], float]:
    """The default router plus OnlineFeedback on a SQLite store seeded with 500 outcomes: ms per plan, µs per
    ``record`` (the write itself happens on the background thread), plans/s batched."""
    with tempfile.TemporaryDirectory() as tmp:
        online = OnlineFeedback(Path(tmp) / "outcomes.db")
        router = Router(pool, lam=100.0, plugins=[online], load_entrypoints=False)
        record_us = []
        for q in queries[:500]:
            plan = router.plan(Query(text=q.text + "!", task=q.task))
            start = time.perf_counter()
            router.record(plan, Outcome(success=True))
            record_us.append((time.perf_counter() - start) * 1e6)
        online.flush()
        per_plan_ms(router, [Query(text=q.text + "?", task=q.task) for q in queries[:200]], None)  # warm-up
        times = per_plan_ms(router, queries, None)
        rate = batched_rate(router, [Query(text=q.text + "#", task=q.task) for q in queries])
        online.close()
    return times, record_us, rate


def team(n: int) -> list[Role]:
    """A team of ``n`` roles: one role alone, or a 3-voter group (one required voter) plus other roles, every third
    optional, with prompts of different lengths so that roles differ in cost."""
    if n == 1:
        return [Role("r0")]
    voters = [Role("voter0", group="vote"), Role("voter1", optional=True, group="vote"),
              Role("voter2", optional=True, group="vote")]
    rest = [Role(f"r{i}", optional=i % 3 == 0, prompt_tokens=100 * (i % 4)) for i in range(3, n)]
    return voters + rest


@contextmanager
def using(optimise: Callable[..., object], spent: list[float]) -> Iterator[None]:
    """Route every module that imported ``planner.optimise`` to ``optimise`` for the duration, adding the seconds
    each call takes (CPU) to ``spent[0]`` (the search's share of a plan)."""
    current = planner.optimise

    def timed(*args: object, **kwargs: object) -> object:
        start = time.process_time()
        try:
            return optimise(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - start

    users = [m for m in list(sys.modules.values()) if getattr(m, "optimise", None) is current]
    for m in users:
        setattr(m, "optimise", timed)
    try:
        yield
    finally:
        for m in users:
            setattr(m, "optimise", current)


def front_pool(pool: ModelPool) -> ModelPool:
    """The same nine models made all non-dominated: per task, model j gets the j-th lowest prior quality, and
    prices rise with j (0.1 × 1.5^j per million tokens), so every role keeps all nine candidates (the worst case)."""
    cards = list(pool)
    tasks = sorted({t for c in cards if isinstance(c.quality, dict) for t in c.quality})
    ranked = {t: sorted(float(c.quality[t]) for c in cards if isinstance(c.quality, dict) and t in c.quality)
              for t in tasks}
    return ModelPool([
        ModelCard(name=c.name, provider=c.provider, input_price=0.1 * 1.5**j, output_price=0.1 * 1.5**j,
                  quality={t: ranked[t][min(j, len(ranked[t]) - 1)] for t in tasks})
        for j, c in enumerate(cards)
    ])


def team_sweep(router: Router, queries: list[Query], sizes: tuple[int, ...], prefix: str) -> dict[str, float]:
    """p50/p99 wall ms per plan, p50 CPU ms per plan and of it inside ``optimise`` (CPU time: robust to a shared
    machine descheduling the process), for each team size and budget, current vs legacy search, and how often each
    found the better objective (quality − λ·cost of the plan)."""
    out: dict[str, float] = {}
    shapes = [(f"{prefix}{n}roles", team(n)) for n in sizes]
    shapes.append((f"{prefix}3required", [Role("a"), Role("b"), Role("c")]))
    for label, roles in shapes:
        # tight: 1.3× the query's cheapest plan, so the budget binds and the search must trade roles against it
        cheapest = [router.plan(q, roles, PlanOptions(lam=1e9, budget_usd=1.0)).cost_usd for q in queries]
        for budget_label, budgets in (("budget1", [1.0] * len(queries)), ("tight", [1.3 * c for c in cheapest])):
            objectives: dict[str, list[float]] = {}
            for name, fn in (("new", planner.optimise), ("legacy", _legacy_planner.optimise)):
                spent = [0.0]
                with using(fn, spent):
                    times, cpu, search, objs = [], [], [], []
                    for q, budget in zip(queries, budgets):
                        spent[0] = 0.0
                        start, start_cpu = time.perf_counter(), time.process_time()
                        plan = router.plan(q, roles, PlanOptions(budget_usd=budget))
                        times.append((time.perf_counter() - start) * 1e3)
                        cpu.append((time.process_time() - start_cpu) * 1e3)
                        search.append(spent[0] * 1e3)
                        ok = not plan.fallback and plan.quality is not None
                        objs.append(plan.quality - (router.options.lam or 0.0) * plan.cost_usd if ok else -math.inf)
                objectives[name] = objs
                out[f"{label}_{budget_label}_{name}_p50_ms"] = round(percentile(times, 50), 3)
                out[f"{label}_{budget_label}_{name}_p99_ms"] = round(percentile(times, 99), 3)
                out[f"{label}_{budget_label}_{name}_cpu_p50_ms"] = round(percentile(cpu, 50), 3)
                out[f"{label}_{budget_label}_{name}_search_cpu_p50_ms"] = round(percentile(search, 50), 3)
            pairs = zip(objectives["new"], objectives["legacy"])
            gaps = [a - b for a, b in pairs if math.isfinite(a) and math.isfinite(b)]
            out[f"{label}_{budget_label}_speedup"] = round(
                out[f"{label}_{budget_label}_legacy_p50_ms"] / max(out[f"{label}_{budget_label}_new_p50_ms"], 1e-9), 1)
            out[f"{label}_{budget_label}_new_better_share"] = round(sum(g > 1e-9 for g in gaps) / max(len(gaps), 1), 3)
            out[f"{label}_{budget_label}_new_worse_share"] = round(sum(g < -1e-9 for g in gaps) / max(len(gaps), 1), 3)
            out[f"{label}_{budget_label}_max_gain"] = round(max(gaps, default=0.0), 6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="plans per measurement")
    parser.add_argument("--team-n", type=int, default=200, help="plans per team size in the team sweep")
    parser.add_argument("--only-teams", action="store_true", help="run the team sweep alone")
    args = parser.parse_args()

    table = load_outcomes(embedded_data_path())
    test = table.split("test")
    pool = task_prior_pool(table, table.split("train"))
    router = Router(pool, lam=100.0, load_entrypoints=False, disable_plugins=[TRAINED])
    default = Router(pool, lam=100.0, load_entrypoints=False)
    # distinct texts (suffixes) so the scorer's embedding cache never answers
    queries = [
        Query(text=f"{test.texts[i % len(test)]} [{i}]", task=str(test.tasks[i % len(test)])) for i in range(args.n)
    ]

    # spread over the whole test split, so that every task family (its priors decide the plans) is represented
    rows = range(min(args.team_n, len(test)))
    spread = [queries[(i * len(test) // args.team_n) % len(queries)] for i in rows]
    team_queries = [Query(text=q.text + " (team)", task=q.task) for q in spread]
    front_router = Router(front_pool(pool), lam=100.0, load_entrypoints=False, disable_plugins=[TRAINED])
    sweep = team_sweep(router, team_queries, (1, 3, 10, 20, 40), "")
    sweep.update(team_sweep(front_router, team_queries, (1, 3, 10, 20, 40), "front9_"))
    if args.only_teams:
        print(json.dumps(sweep))
        return
    per_plan_ms(router, queries[:200], None)  # warm-up
    per_plan_ms(default, queries[:200], None)
    one = per_plan_ms(router, queries, None)
    three = per_plan_ms(router, queries, ROLES)
    trained = per_plan_ms(default, queries, None)
    batched = batched_rate(router, queries)
    trained_batched = batched_rate(default, [Query(text=q.text + "*", task=q.task) for q in queries])
    guard_us = []
    for q in queries:
        start = time.perf_counter()
        private_data(q.text)
        guard_us.append((time.perf_counter() - start) * 1e6)
    online_ms, record_us, online_batched = online_overhead(pool, [Query(text=q.text + "~", task=q.task) for q in queries])

    result = {
        "pool_models": len(pool),
        "n": args.n,
        "plan_p50_ms": round(percentile(one, 50), 4),
        "plan_p99_ms": round(percentile(one, 99), 4),
        "plan3_p50_ms": round(percentile(three, 50), 4),
        "plan3_p99_ms": round(percentile(three, 99), 4),
        "plans_per_s": round(batched, 1),
        "default_p50_ms": round(percentile(trained, 50), 4),
        "default_p99_ms": round(percentile(trained, 99), 4),
        "default_plans_per_s": round(trained_batched, 1),
        "online_p50_ms": round(percentile(online_ms, 50), 4),
        "online_p99_ms": round(percentile(online_ms, 99), 4),
        "online_plans_per_s": round(online_batched, 1),
        "online_record_p50_us": round(percentile(record_us, 50), 2),
        "privacy_guard_p50_us": round(percentile(guard_us, 50), 1),
        "privacy_guard_p99_us": round(percentile(guard_us, 99), 1),
        **guard_megabyte_ms(),
        "import_s": round(import_seconds(), 4),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **sweep,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
