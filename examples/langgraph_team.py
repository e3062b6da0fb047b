"""Route a multi-agent LangGraph app (planner → 3 solvers → verifier → vote) offline on embedded replay data.

    python examples/langgraph_team.py --queries 100 --lambdas 0 300 3000

The graph itself is plain LangGraph (see ``router_plugins.adapters.langgraph.team_demo.build_team_graph``): each node declares
in its metadata whether it may be pruned, and calls ``routed_model(config, default=app_model)`` for its model. Here
every model is a replay model answering from recorded outcomes (llmrouter_nim9, MIT), so quality and cost are the
recorded ones; read the notes the program prints about what a replayed vote can and cannot tell.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from router_plugins.adapters.langgraph import routed
from router_plugins.adapters.langchain.replay import ReplayChatModel, ReplayChatModels
from router_plugins.adapters.langgraph.team_demo import build_team_graph, load_team_data, print_team_demo, run_team_demo
from router_plugins.query import Query
from router_plugins.replay import ReplayBook
from router_plugins.router import Router


def show_one_plan(lam: float) -> None:
    """Route one question and print its plan: which node runs on which model, which nodes are pruned and why."""
    _, rows, pool = load_team_data(5)
    book = ReplayBook(rows)
    router = Router(pool, lam=lam, plugins=[ReplayChatModels(book)], load_entrypoints=False)
    app_model = ReplayChatModel(book=book, model=pool.most_expensive().name)  # the app's own model, unrouted
    app = routed(build_team_graph(app_model), router=router,
                 query=lambda s: Query(s["question"], task=s["task"])).compile()
    state = {"question": rows.texts[0], "task": str(rows.tasks[0]), "calls": []}
    out = app.invoke(state)
    print(f"one {state['task']} question at λ={lam:g}:")
    print(app.plan_for(state).explain())
    print("ran:", " → ".join(f"{c['node']}[{c['model']}]" for c in out["calls"]),
          f"→ vote correct: {out['vote_low']:.0f}–{out['vote_high']:.0f}\n")


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the demo and print the comparison table; returns the result dict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100, help="test questions (spread over the vote tasks)")
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 300.0, 3000.0], help="cost weights λ")
    parser.add_argument("--no-single-models", action="store_true", help="skip the every-node-on-one-model rows")
    args = parser.parse_args(argv)
    show_one_plan(args.lambdas[-1])
    result = run_team_demo(n_queries=args.queries, lambdas=args.lambdas, single_models=not args.no_single_models)
    print_team_demo(result)
    return result


if __name__ == "__main__":
    main()
