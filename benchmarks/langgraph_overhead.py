"""Per-invoke overhead of the LangGraph adapter: planning + graph rewrite, cached and uncached, vs unrouted invoke.

    python benchmarks/langgraph_overhead.py [--n 200]

Two graphs, both the demo team (planner → 3 solvers → verifier → aggregator): with replay models (the realistic
offline workload) and with empty nodes (pure framework cost, the worst case for relative overhead). Each row is the
median wall time per invoke over the same queries, in one run; ratios are against the unrouted invoke of the same
graph; "adapter ms" is routed − (the same graph unrouted, pruned where the plan prunes) − planning. "uncached" clears the compiled-variant cache before every invoke, so each call rebuilds and compiles.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from router_plugins.adapters.langgraph import routed
from router_plugins.adapters.langchain.replay import ReplayChatModel, ReplayChatModels
from router_plugins.adapters.langgraph.team_demo import build_team_graph, load_team_data
from router_plugins.query import Query
from router_plugins.replay import ReplayBook
from router_plugins.router import Router


def interleaved_ms(fns: dict[str, Callable[[Any], Any]], inputs: list[Any], repeat: int) -> dict[str, float]:
    """Median milliseconds per call of each function, timed round-robin per input so shared-CPU noise hits all alike."""
    for fn in fns.values():
        for x in inputs[:5]:
            fn(x)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for x in inputs:
            for key, fn in fns.items():
                t = time.perf_counter()
                fn(x)
                times[key].append((time.perf_counter() - t) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def empty_team() -> Any:
    """The demo graph's shape with nodes that do nothing (framework cost only)."""
    from router_plugins.adapters.langgraph.team_demo import TeamState, build_team_graph

    def nothing(state: TeamState) -> dict[str, Any]:
        return {}

    return build_team_graph(None, make_node=lambda name: nothing)


def measure(kind: str, n: int, repeat: int) -> list[dict[str, Any]]:
    """Rows for one graph kind ('replay' or 'empty')."""
    _, rows, pool = load_team_data(n)
    book = ReplayBook(rows)
    inputs = [{"question": q, "task": str(t), "calls": []} for q, t in zip(rows.texts, rows.tasks)]
    app_model = ReplayChatModel(book=book, model=pool.most_expensive().name)

    def builder() -> Any:
        return build_team_graph(app_model) if kind == "replay" else empty_team()

    def query(s: Any) -> Query:
        return Query(s["question"], task=s["task"])

    unrouted = builder().compile()
    fns: dict[str, Callable[[Any], Any]] = {"unrouted": unrouted.invoke}
    labels: list[tuple[str, str, str | None, str | None]] = [("unrouted", "unrouted invoke (all 5 model nodes)", None, None)]
    for lam in (0.0, 3000.0):
        router = Router(pool, lam=lam, plugins=[ReplayChatModels(book)], load_entrypoints=False)
        app = routed(builder(), router=router, query=query).compile()
        roles = app.routing.roles
        pruned = app.routing.pruned_nodes(app.plan_for(inputs[0]))
        what = f"{len(pruned)} of 5 pruned" if pruned else "nothing pruned"
        fns[f"plan{lam}"] = lambda x, router=router, roles=roles: router.plan(query(x), roles=roles)
        fns[f"routed{lam}"] = app.invoke
        fns[f"prepare{lam}"] = lambda x, app=app: app.routing.prepare(app, x, None)
        same = "unrouted"
        if pruned:
            same = f"hand{lam}"
            fns[same] = app.routing.variant(app, pruned).with_config().invoke  # the pruned graph, run plainly
            labels.append((same, f"same graph without the {len(pruned)} pruned nodes, unrouted", None, None))

            def uncached(x: Any, app: Any = app) -> Any:
                app.routing._variants.clear()
                return app.invoke(x)

            fns[f"uncached{lam}"] = uncached
            fns[f"rewrite{lam}"] = lambda x, app=app, pruned=pruned: (app.routing._variants.clear(),
                                                                     app.routing.variant(app, pruned))
        labels.append((f"routed{lam}", f"routed λ={lam:g} ({what}), variant cached", same, f"plan{lam}"))
        if pruned:
            labels.append((f"uncached{lam}", f"routed λ={lam:g}, uncached (rewrite + compile each call)", same,
                           f"plan{lam}"))
        labels.append((f"plan{lam}", f"  router.plan alone, λ={lam:g}", None, None))
        labels.append((f"prepare{lam}", f"  plan + adapter bookkeeping (no graph run), λ={lam:g}", None, None))
        if pruned:
            labels.append((f"rewrite{lam}", f"  rewrite + compile one variant ({what})", None, None))
    ms = interleaved_ms(fns, inputs, repeat)
    out = []
    for key, label, same_key, plan_key in labels:
        adapter = None if same_key is None else ms[key] - ms[same_key] - ms[plan_key or ""]
        out.append({"graph": kind, "config": label, "ms": ms[key], "ratio": ms[key] / ms["unrouted"],
                    "adapter_ms": adapter})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="distinct queries")
    parser.add_argument("--repeat", type=int, default=4, help="passes over the queries")
    args = parser.parse_args()
    rows = measure("replay", args.n, args.repeat) + measure("empty", args.n, args.repeat)
    print(f"# LangGraph adapter overhead ({platform.python_version()}, {platform.machine()}, "
          f"{args.n} queries × {args.repeat} passes, median per invoke)")
    print("| graph | configuration | ms / invoke | × unrouted | adapter ms (excl. planning) |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        extra = "" if r["adapter_ms"] is None else f"{r['adapter_ms']:.3f}"
        print(f"| {r['graph']} | {r['config']} | {r['ms']:.3f} | {r['ratio']:.2f} | {extra} |")


if __name__ == "__main__":
    main()
