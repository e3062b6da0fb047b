"""Multi-agent LangGraph demo over embedded replay data: planner → solvers → verifier → vote, routed vs unrouted.

The graph is an ordinary LangGraph app: a planner, three solvers (two optional), an optional verifier and a plain
Python aggregator that takes a majority vote. Every model call is a :class:`ReplayChatModel` call on the embedded
``llmrouter_nim9`` data (MIT), so quality and cost are the recorded ones, with no API call. What is replayed, honestly:

* the data records whether each model answered each question correctly (0/1), not the answers themselves, so a vote
  is exact only where a strict majority of the voters is right (correct) or no voter is right (wrong); otherwise the
  demo reports a lower bound (all wrong answers coincide) and an upper bound (all wrong answers differ);
* the planner's output does not change the replayed answers (its cost counts; its quality is not measured);
* several voters on the same model replay that model's one recorded answer (no sampling diversity is invented);
* the verifier re-solves the question and breaks ties between the solvers' answers with its own answer;
* costs are the dataset's estimates (estimated tokens × list prices) carried in the replay model's usage records.
"""

from __future__ import annotations

import itertools
import operator
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, TypedDict

import numpy as np

from router_plugins.query import Query

__all__ = [
    "VOTE_TASKS",
    "build_team_graph",
    "format_team_demo",
    "load_team_data",
    "print_team_demo",
    "run_team_demo",
    "vote_bounds",
]

#: Test-split task families whose answers can be voted on (multiple choice or a final number).
VOTE_TASKS = ("mmlu", "gpqa", "agentverse-logicgrid", "gsm8k", "agentverse-mgsm")
#: The same λ grid as the single-role demo table, so the two tables read together.
DEFAULT_LAMBDAS = (0.0, 100.0, 1000.0)
SOLVERS = ("solver_1", "solver_2", "solver_3")
PROMPTS = {
    "planner": "Break the problem into steps for the solvers.",
    "solver_1": "Solve the problem; end with the final answer.",
    "solver_2": "Solve the problem independently; end with the final answer.",
    "solver_3": "Solve the problem independently; end with the final answer.",
    "verifier": "Solve the problem yourself to check the solvers; end with the final answer.",
}


class TeamState(TypedDict, total=False):
    """Graph state: the question, one record per model call, and the vote's bounds."""

    question: str
    task: str
    calls: Annotated[list[dict[str, Any]], operator.add]
    vote_low: float
    vote_high: float


def vote_bounds(solvers: Sequence[float], verifier: float | None) -> tuple[float, float]:
    """Correctness of a majority vote over ``solvers`` (1/0 each; ties go to the verifier's answer, else the first
    solver's) when only correctness is known: (low, high) = wrong answers all coincide / all differ."""
    k, n = int(sum(solvers)), len(solvers)
    if n == 0:
        return 0.0, 0.0

    def tie_break(wrong_verifier_matches: bool) -> float:
        if verifier is not None and verifier >= 1:
            return 1.0
        if verifier is not None and wrong_verifier_matches:
            return 0.0
        return float(solvers[0])

    # wrong answers coincide: the correct answer has k votes, the shared wrong one n - k
    low = 1.0 if k > n - k else 0.0 if k < n - k else tie_break(True)
    # wrong answers all differ: k votes against 1 vote each
    if k == 0:
        high = 0.0
    elif k >= 2 or n == 1:
        high = 1.0
    else:
        high = tie_break(False)
    return min(low, high), max(low, high)


def _call_node(name: str, app_model: Any) -> Any:
    from langchain_core.messages import HumanMessage, SystemMessage
    from langchain_core.runnables import RunnableConfig

    from router_plugins.adapters.langgraph._binding import routed_model

    def node(state: TeamState, config: RunnableConfig) -> dict[str, Any]:
        model = routed_model(config, default=app_model)
        reply = model.invoke([SystemMessage(PROMPTS[name]), HumanMessage(state["question"])], config)
        meta = reply.response_metadata or {}
        return {"calls": [{
            "node": name,
            "model": meta.get("model_name", getattr(model, "model", "?")),
            "quality": meta.get("replay_quality"),
            "cost_usd": meta.get("cost_usd") or 0.0,
            "cost_estimated": bool(meta.get("cost_estimated")),
            "tokens": (reply.usage_metadata or {}).get("total_tokens", 0),
        }]}

    node.__name__ = name
    return node


def _aggregate(state: TeamState) -> dict[str, Any]:
    by_node = {c["node"]: c for c in state.get("calls", [])}
    solvers = [float(by_node[s]["quality"]) for s in SOLVERS if s in by_node]
    verifier = by_node.get("verifier")
    low, high = vote_bounds(solvers, None if verifier is None else float(verifier["quality"]))
    return {"vote_low": low, "vote_high": high}


def build_team_graph(app_model: Any, models: Sequence[str] | None = None, *,
                     make_node: Callable[[str], Any] | None = None) -> Any:
    """The team as a plain LangGraph builder; ``app_model`` is what nodes use when the graph runs unrouted.
    ``make_node(name)`` replaces the model-calling nodes (benchmarks time the framework with nodes that do nothing)."""
    from langgraph.graph import END, START, StateGraph

    node = make_node or (lambda name: _call_node(name, app_model))

    def meta(role: str, optional: bool, description: str, group: str | None = None) -> dict[str, Any]:
        # the solvers' answers are combined by majority vote: the planner predicts the vote, not a sum of parts
        decl: dict[str, Any] = {"role": role, "optional": optional, "description": description, "group": group}
        if models:
            decl["models"] = list(models)
        return {"router": decl}

    g = StateGraph(TeamState)
    g.add_node("planner", node("planner"), metadata=meta("planner", False, "plans the solution"))
    g.add_node("solver_1", node("solver_1"), metadata=meta("solver_1", False, "main solver", "vote"))
    for s in SOLVERS[1:]:
        g.add_node(s, node(s), metadata=meta(s, True, "extra solver for the vote", "vote"))
    g.add_node("verifier", node("verifier"), metadata=meta("verifier", True, "tie-breaking checker"))
    g.add_node("aggregator", _aggregate)  # no router metadata: plain code, never routed or pruned
    g.add_edge(START, "planner")
    for s in SOLVERS:
        g.add_edge("planner", s)
    g.add_edge(list(SOLVERS), "verifier")
    g.add_edge("verifier", "aggregator")
    g.add_edge("aggregator", END)
    return g


def load_team_data(n_queries: int, data: Any = None) -> tuple[Any, Any, Any]:
    """(full table, the test rows of the vote tasks spread evenly, a replay pool with per-task priors from train)."""
    from router_plugins.replay.demo import embedded_data_path, task_prior_pool
    from router_plugins.replay import load_outcomes

    table = load_outcomes(data or embedded_data_path())
    train, test = table.split("train"), table.split("test")
    tasks = [t for t in VOTE_TASKS if np.any(test.tasks == t)]
    per_task = max(1, n_queries // max(1, len(tasks)))
    rows: list[int] = []
    for t in tasks:
        idx = np.flatnonzero(test.tasks == t)
        rows.extend(int(i) for i in idx[:per_task])
    picked = test.select(np.array(sorted(rows[:n_queries]), dtype=np.int64))
    keep = ~np.isnan(picked.quality).any(axis=1)
    return table, picked.select(keep), task_prior_pool(table, train)


def _summarise(label: str, outs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    low = np.array([o["vote_low"] for o in outs])
    high = np.array([o["vote_high"] for o in outs])
    cost = np.array([sum(c["cost_usd"] for c in o["calls"]) for o in outs])
    nodes = Counter(c["node"] for o in outs for c in o["calls"])
    models: dict[str, Counter[str]] = {}
    for o in outs:
        for c in o["calls"]:
            models.setdefault(c["node"], Counter())[c["model"]] += 1
    return {
        "label": label,
        "kind": kind,
        "quality_low": float(low.mean()),
        "quality_high": float(high.mean()),
        "exact_share": float(np.mean(low == high)),
        "cost_usd": float(cost.mean()),
        "calls_per_query": float(sum(nodes.values()) / len(outs)),
        "node_runs": {n: nodes.get(n, 0) / len(outs) for n in ("planner", *SOLVERS, "verifier")},
        "models": {n: dict(c.most_common()) for n, c in models.items()},
    }


def run_team_demo(
    n_queries: int = 100,
    lambdas: Iterable[float] = DEFAULT_LAMBDAS,
    *,
    data: Any = None,
    single_models: bool = True,
) -> dict[str, Any]:
    """Run the team routed at each λ and unrouted (every node on the most expensive / on each model); a JSON-able dict."""
    from router_plugins.adapters.langgraph.graph import routed
    from router_plugins.adapters.langchain.replay import ReplayChatModel, ReplayChatModels
    from router_plugins.replay.demo import SCORERS
    from router_plugins.replay import ReplayBook
    from router_plugins.router import Router

    start = time.perf_counter()
    table, rows, pool = load_team_data(n_queries, data)
    book = ReplayBook(rows)
    inputs = [{"question": q, "task": str(t), "calls": []} for q, t in zip(rows.texts, rows.tasks)]

    def query(state: TeamState) -> Query:
        return Query(state["question"], task=state["task"])

    results = []
    examples: list[dict[str, Any]] = []
    default = ReplayChatModel(book=book, model=pool.most_expensive().name)
    for (scorer, disabled), lam in itertools.product(SCORERS.items(), lambdas):
        router = Router(pool, lam=lam, plugins=[ReplayChatModels(book)], load_entrypoints=False,
                        disable_plugins=disabled)
        app = routed(build_team_graph(default), router=router, query=query).compile()
        outs = app.batch(inputs, config={"max_concurrency": 1})
        results.append(_summarise(f"routed ({scorer}) λ={lam:g}", outs, "routed") | {"lambda": lam, "scorer": scorer})
        if not examples:
            for inp, out in list(zip(inputs, outs))[:3]:
                examples.append({"task": inp["task"], "question": inp["question"][:70],
                                 "models": {c["node"]: c["model"] for c in out["calls"]},
                                 "vote": [out["vote_low"], out["vote_high"]]})
    baselines = [pool.most_expensive().name] + ([m for m in pool.names] if single_models else [])
    for i, name in enumerate(baselines):
        plain = build_team_graph(ReplayChatModel(book=book, model=name)).compile()
        outs = plain.batch(inputs, config={"max_concurrency": 1})
        label = f"unrouted, all on most expensive ({name})" if i == 0 else f"unrouted, all on {name}"
        results.append(_summarise(label, outs, "most_expensive" if i == 0 else "single"))
    return {
        "dataset": table.name,
        "n_queries": len(rows),
        "tasks": sorted(set(rows.tasks.tolist())),
        "cost_estimated": bool(table.cost_estimated),
        "results": results,
        "examples": examples,
        "seconds": time.perf_counter() - start,
        "notes": [
            "quality = majority-vote correctness replayed from per-model 0/1 records; exact where a strict majority "
            "of voters is right or none is; elsewhere [low, high] = wrong answers all coincide / all differ",
            "the planner's output does not change replayed answers (its cost counts)",
            "voters on the same model replay the same recorded answer (no sampling diversity is invented)",
            "cost = the replay model's usage records: the dataset's estimated tokens × list prices"
            if table.cost_estimated else "cost = recorded per-call cost from the replay model's usage records",
        ],
    }


def format_team_demo(result: dict[str, Any]) -> str:
    """The demo result as plain text: one row per configuration, then which model each node got."""
    me = next(r for r in result["results"] if r["kind"] == "most_expensive")
    width = max(len(r["label"]) for r in result["results"]) + 2
    lines = [
        f"LangGraph team (planner → 3 solvers → verifier → vote) replayed on {result['dataset']}: "
        f"{result['n_queries']} test queries ({', '.join(result['tasks'])})",
        *[f"  note: {n}" for n in result["notes"]],
        "  note: exact = share of queries whose vote outcome the records fix (the rest lie in [low, high]); "
        "calls = model calls per query",
        "",
        f"{'configuration':<{width}} {'quality [low, high]':>20} {'exact':>6} {'$/query':>10} {'vs most exp.':>12} "
        f"{'calls':>5}",
    ]
    for r in result["results"]:
        q = f"{r['quality_low'] * 100:5.1f}–{r['quality_high'] * 100:5.1f}%"
        rel = f"{r['cost_usd'] / me['cost_usd']:.2f}×" if me["cost_usd"] else "n/a"
        lines.append(f"{r['label']:<{width}} {q:>20} {r['exact_share'] * 100:5.0f}% {r['cost_usd']:>10.2e} {rel:>12} "
                     f"{r['calls_per_query']:>5.2f}")
    routed = [r for r in result["results"] if r["kind"] == "routed"]
    if routed:
        top = max(routed, key=lambda r: (r["quality_low"], -r["cost_usd"]))
        rel = f"{top['cost_usd'] / me['cost_usd']:.2f}×" if me["cost_usd"] else "n/a"
        lines.append(f"summary: the best routed team, {top['label']}, scores {top['quality_low'] * 100:.1f}% "
                     f"(at least) against {me['quality_low'] * 100:.1f}% for the unrouted team on the most expensive "
                     f"model, at {rel} its cost")
    lines.append("")
    for r in result["results"]:
        if r["kind"] != "routed":
            continue
        lines.append(f"{r['label']}: node runs per query and models")
        for node, share in r["node_runs"].items():
            models = ", ".join(f"{m} ×{n}" for m, n in list(r["models"].get(node, {}).items())[:3])
            state = "pruned always" if share == 0 else f"ran {share * 100:.0f}%"
            lines.append(f"  {node:<9} {state:<14} {models}")
    lines.append(f"({result['seconds']:.1f} s)")
    return "\n".join(lines)


def print_team_demo(result: dict[str, Any]) -> None:
    """Print :func:`format_team_demo`."""
    print(format_team_demo(result))
