"""Routing overhead: ms per plan at batch 1, plans/s batched, import time, RSS — planner alone and default router.

Run: ``python benchmarks/overhead.py [--n 2000]``. Prints one JSON object. Pool: the embedded demo's nine
models with per-task priors; queries: the embedded test split. In the same run: the planner alone (card priors,
the trained scorer disabled) with a one-role plan (classic routing) and a three-role plan (planner, solver,
optional critic), the default router, whose shipped trained scorer (fast static encoder) knows these models, and the
default router with online learning (OnlineFeedback on a SQLite store); and the privacy guard's detectors on
1 MB texts: prose, and the worst of a set of adversarial inputs built against backtracking regexes.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from router_plugins import ModelPool, Query, Role, Router
from router_plugins.guards import private_data
from router_plugins.online import OnlineFeedback
from router_plugins.outcome import Outcome
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="plans per measurement")
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
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
