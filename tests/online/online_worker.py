"""A worker process for the durability tests: records outcomes (or plans) against a store URL, then reports.

    python online_worker.py write URL MODEL MODE SECONDS [PAUSE_S [acks]]   # MODE: durable | async
    python online_worker.py plan URL SECONDS
    python online_worker.py count URL MODEL N MODE                   # record N, then exit without flush/close

``write`` and ``plan`` print ``ready`` once connected; ``write ... acks`` prints one line per acknowledged record
(``ack <n>``), so a parent that kills the process knows what was acknowledged; both end with a JSON line of counts.
"""

from __future__ import annotations

import json
import sys
import time

from router_plugins import ModelCard, Query, Router
from router_plugins.online import OnlineFeedback, StoreError
from router_plugins.outcome import Outcome, RoleOutcome
from router_plugins.plan import Plan, RoleAssignment


def plan_for(model: str) -> Plan:
    """A one-role plan that ran ``model`` for the task "load"."""
    return Plan(mode="single", roles=(RoleAssignment("default", model),), metadata={"task": "load"})


def write(url: str, model: str, mode: str, seconds: float, pause_s: float, acks: bool) -> None:
    """Record outcomes of ``model`` for ``seconds``; with ``acks`` print each acknowledgement as it happens."""
    online = OnlineFeedback(url, durable=mode == "durable", retry_s=60.0, close_timeout_s=60.0)
    print("ready", flush=True)
    plan, outcome = plan_for(model), Outcome(roles=(RoleOutcome("default", model),), score=1.0)
    acked = refused = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            ok = online.record(plan, outcome)
        except StoreError:
            ok = False
        if ok:
            acked += 1
            if acks:
                print(f"ack {acked}", flush=True)
        else:
            refused += 1
        if pause_s:
            time.sleep(pause_s)
    online.close()
    print(json.dumps({"acked": acked, "refused": refused, "counters": online.counters}), flush=True)


def plan(url: str, seconds: float) -> None:
    """Plan with online statistics from the store for ``seconds``; reports plans and fallbacks."""
    online = OnlineFeedback(url, refresh_s=0.1)
    cards = [ModelCard(name=f"w{i}", quality=0.5, input_price=0.1, output_price=0.1) for i in range(4)]
    router = Router(cards, lam=1.0, plugins=[online], load_entrypoints=False)
    print("ready", flush=True)
    plans = fallbacks = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        fallbacks += router.plan(Query("a question", task="load")).fallback
        plans += 1
        time.sleep(0.005)
    online.close()
    print(json.dumps({"plans": plans, "fallbacks": fallbacks, "counters": online.counters}), flush=True)


def count(url: str, model: str, n: int, mode: str) -> None:
    """Record ``n`` outcomes and exit normally without flush() or close(): the exit handler must store them."""
    online = OnlineFeedback(url, durable=mode == "durable")
    if mode == "with":
        with online:
            for _ in range(n):
                online.record(plan_for(model), Outcome(score=1.0))
        return
    for _ in range(n):
        online.record(plan_for(model), Outcome(score=1.0))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "write":
        write(args[0], args[1], args[2], float(args[3]), float(args[4]) if len(args) > 4 else 0.0,
              args[5:6] == ["acks"])
    elif cmd == "plan":
        plan(args[0], float(args[1]))
    else:
        count(args[0], args[1], int(args[2]), args[3])
