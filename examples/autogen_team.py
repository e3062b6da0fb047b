"""Route an AutoGen AgentChat team (solver, then an optional reviewer) offline on embedded replay data.

    python examples/autogen_team.py --queries 60 --lambdas 0 300

``routed_team`` is the agent factory: per task the router plans which agents run and on which model, builds only
those ``AssistantAgent``s with their models' clients and runs a ``RoundRobinGroupChat``. Every client replays what
its model answered to the task (llmrouter_nim9 test split, MIT), and token usage × list price is the cost. The data
records each model's correctness only, so the team's quality is a range: low = the final answer's (the reviewer's
when it runs: it may overrule a right answer), high = right if any agent's model was right (a reviewer that keeps a
right answer and fixes a wrong one). The unrouted team runs both agents on the most expensive model.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.teams import RoundRobinGroupChat

from router_plugins.adapters.autogen import ReplayCompletionClient, ReplayCompletionClients, RoutedTeam, routed_team
from router_plugins.query import Query
from router_plugins.replay import ReplayBook, load_outcomes
from router_plugins.replay.demo import embedded_data_path, task_prior_pool
from router_plugins.router import Router

AGENTS = {
    "solver": lambda client: AssistantAgent("solver", model_client=client, system_message="Solve the task."),
    "reviewer": lambda client: AssistantAgent("reviewer", model_client=client,
                                              system_message="Check the solver's answer and give the final one."),
}


def round_robin(agents: list[Any], clients: Mapping[str, Any]) -> RoundRobinGroupChat:
    """The team: each kept agent speaks once, in order."""
    return RoundRobinGroupChat(agents, max_turns=len(agents))


async def run_routed(team: RoutedTeam, book: ReplayBook, rows: Any) -> dict[str, float]:
    """Run every task through the routed team: quality range of its answers, cost, agents per task."""
    low, high, cost, agents = [], [], [], []
    for text, task in zip(rows.texts, rows.tasks):
        result = await team.run(task=text, query=Query(text, task=str(task)))
        plan = team.last_plan
        assert plan is not None
        answered = [book.answer(text, plan.model_for(m.source)).quality for m in result.messages if m.source != "user"]
        low.append(answered[-1])
        high.append(max(answered))
        cost.append(team.cost_usd(result))
        agents.append(len(plan.kept))
    return {"quality_low": float(np.mean(low)), "quality_high": float(np.mean(high)),
            "cost_usd": float(np.mean(cost)), "agents": float(np.mean(agents))}


async def run_unrouted(model: str, book: ReplayBook, rows: Any, price: Any) -> dict[str, float]:
    """The app as written: both agents on one model."""
    quality, cost = [], []
    for text in rows.texts:
        client = ReplayCompletionClient(book, model)
        result = await round_robin([make(client) for make in AGENTS.values()], {}).run(task=text)
        quality.append(book.answer(text, model).quality)
        usage = client.total_usage()
        cost.append(price.cost_usd(usage.prompt_tokens, usage.completion_tokens))
        assert result.messages[-1].source == "reviewer"
    q = float(np.mean(quality))
    return {"quality_low": q, "quality_high": q, "cost_usd": float(np.mean(cost)), "agents": 2.0}


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=60, help="test questions, spread over the tasks")
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 300.0], help="cost weights λ")
    args = parser.parse_args(argv)

    table = load_outcomes(embedded_data_path())
    train, test = table.split("train"), table.split("test")
    pick = np.sort(np.random.default_rng(0).choice(len(test), size=min(args.queries, len(test)), replace=False))
    rows = test.select(pick)
    book, pool = ReplayBook(rows), task_prior_pool(table, train)
    results: dict[str, dict[str, float]] = {}
    for lam in args.lambdas:
        router = Router(pool, lam=lam, plugins=[ReplayCompletionClients(book)], load_entrypoints=False)
        team = routed_team(router, AGENTS, round_robin, roles={"reviewer": {"optional": True}})
        results[f"routed λ={lam:g}"] = asyncio.run(run_routed(team, book, rows))
    top = pool.most_expensive()
    results[f"unrouted, both on {top.name}"] = asyncio.run(run_unrouted(top.name, book, rows, top))

    print(f"AutoGen RoundRobinGroupChat (solver → reviewer?) on {len(rows)} llmrouter_nim9 test questions (replayed):")
    base = results[f"unrouted, both on {top.name}"]["cost_usd"]
    print(f"{'configuration':52s} {'quality [low, high]':>20s} {'$/task':>10s} {'vs unrouted':>12s} {'agents':>7s}")
    for name, r in results.items():
        span = f"{r['quality_low']:.3f}–{r['quality_high']:.3f}"
        print(f"{name:52s} {span:>20s} {r['cost_usd']:10.2e} {r['cost_usd'] / base:11.2f}× {r['agents']:7.2f}")
    return results


if __name__ == "__main__":
    main()
