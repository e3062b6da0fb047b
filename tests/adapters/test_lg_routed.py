"""The routed compiled graph: per-input plans through every entry point, models per node, fail-open, copies."""

from __future__ import annotations

import asyncio
import json
import operator
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from lg_fakes import FakeModels, make_cards
from router_plugins.adapters.langgraph import RoutedCompiledStateGraph, routed, routed_model

from router_plugins import BudgetError, ConfigError, ModelCard, ScorerError, hookimpl
from router_plugins.options import PlanOptions
from router_plugins.router import Router


class S(TypedDict, total=False):
    question: str
    calls: Annotated[list[tuple[str, str | None]], operator.add]
    meta: Annotated[list[dict[str, Any]], operator.add]


def worker(name: str) -> Any:
    def node(state: S, config: RunnableConfig) -> dict[str, Any]:
        model = routed_model(config, default=None) if name != "agg" else None
        reply = model.invoke([HumanMessage(state["question"])]).content if model is not None else None
        return {"calls": [(name, reply)], "meta": [dict(config["metadata"])] if name == "agg" else []}

    node.__name__ = name
    return node


def team() -> StateGraph:
    g = StateGraph(S)
    g.add_node("planner", worker("planner"), metadata={"router": {"role": "planner"}})
    g.add_node("solver", worker("solver"), metadata={"router": {"role": "solver"}})
    g.add_node("critic", worker("critic"), metadata={"router": {"role": "critic", "optional": True}})
    g.add_node("agg", worker("agg"))
    g.add_edge(START, "planner")
    g.add_edge("planner", "solver")
    g.add_edge("solver", "critic")
    g.add_edge("critic", "agg")
    g.add_edge("agg", END)
    return g


def expected(question: str) -> list[tuple[str, str | None]]:
    model = "big" if "model=big" in question else "small"
    nodes = ["planner", "solver"] + ([] if "prune=critic" in question else ["critic"])
    return [(n, f"{model} says hi") for n in nodes] + [("agg", None)]


QUESTIONS = ["q1 model=big", "q2 prune=critic", "q3 model=big prune=critic", "q4"]


@pytest.fixture
def graph(router: Router) -> RoutedCompiledStateGraph:
    return routed(team(), router=router, query=lambda s: s["question"]).compile()


def test_compiled_is_a_compiled_state_graph(graph: Any) -> None:
    assert isinstance(graph, CompiledStateGraph) and isinstance(graph, RoutedCompiledStateGraph)


@pytest.mark.parametrize("question", QUESTIONS)
def test_sync_async_stream_parity(graph: Any, question: str) -> None:
    inp = {"question": question}
    want = expected(question)
    assert graph.invoke(inp)["calls"] == want
    assert asyncio.run(graph.ainvoke(inp))["calls"] == want
    values = list(graph.stream(inp, stream_mode="values"))
    assert values[-1]["calls"] == want

    async def collect() -> list[Any]:
        return [c async for c in graph.astream(inp, stream_mode="updates")]

    updates = asyncio.run(collect())
    assert [next(iter(u)) for u in updates] == [n for n, _ in want]


def test_batch_and_abatch_plan_each_input(graph: Any) -> None:
    inputs = [{"question": q} for q in QUESTIONS]
    assert [o["calls"] for o in graph.batch(inputs)] == [expected(q) for q in QUESTIONS]
    assert [o["calls"] for o in asyncio.run(graph.abatch(inputs))] == [expected(q) for q in QUESTIONS]


def test_stream_modes_and_events(graph: Any) -> None:
    inp = {"question": "q prune=critic model=big"}
    for mode in ("values", "updates", "debug", "messages", "custom", "checkpoints", "tasks"):
        list(graph.stream(inp, stream_mode=mode))
    multi = list(graph.stream(inp, stream_mode=["updates", "messages"]))
    assert {m for m, _ in multi} == {"updates", "messages"}
    assert not any(u.get("critic") for m, u in multi if m == "updates")

    async def events() -> list[Any]:
        return [e async for e in graph.astream_events(inp, version="v2")]

    evs = asyncio.run(events())
    assert any(e["event"] == "on_chat_model_end" for e in evs)
    assert all("critic" != e.get("name") for e in evs)


def test_64_concurrent_ainvoke_no_cross_talk(graph: Any) -> None:
    questions = [f"q{i} {'model=big' if i % 2 else ''} {'prune=critic' if i % 3 == 0 else ''}" for i in range(64)]

    async def main() -> list[Any]:
        return await asyncio.gather(*(graph.ainvoke({"question": q}) for q in questions))

    outs = asyncio.run(main())
    for q, out in zip(questions, outs):
        assert out["calls"] == expected(q)
        meta = out["meta"][0]
        plan = json.loads(meta["router_plan"])
        assert plan["query_id"] and (meta["router_pruned"] == ("critic" if "prune=critic" in q else ""))
    assert graph.routing.cached_variants == 1  # one pruned structure, compiled once


def test_plan_goes_into_run_metadata_and_tags(graph: Any) -> None:
    seen: dict[str, Any] = {}

    def spy(state: S, config: RunnableConfig) -> dict[str, Any]:
        seen.update(tags=config.get("tags"), meta=dict(config["metadata"]))
        return {}

    g = team()
    g.add_node("spy", spy)
    g.add_edge("agg", "spy")
    r = routed(g, router=graph.routing.router).compile()
    r.invoke({"question": "hello prune=critic"})
    meta = seen["meta"]
    assert meta["router_pruned"] == "critic" and meta["router_fallback"] is False
    assert json.loads(meta["router_models"]) == {"planner": "small", "solver": "small", "critic": None}
    assert f"router_plan:{meta['router_plan_signature']}" in seen["tags"]


def test_with_config_and_copy_keep_routing(graph: Any) -> None:
    inp = {"question": "x prune=critic model=big"}
    for g in (graph.with_config(tags=["mine"], recursion_limit=50), graph.copy(), graph.with_config().with_config()):
        assert isinstance(g, RoutedCompiledStateGraph)
        assert g.routing is graph.routing
        assert g.invoke(inp)["calls"] == expected(inp["question"])
    tagged: list[Any] = []

    def spy(state: S, config: RunnableConfig) -> dict[str, Any]:
        tagged.append(config.get("tags"))
        return {}

    g = team()
    g.add_node("spy", spy)
    g.add_edge("agg", "spy")
    routed(g, router=graph.routing.router).compile().with_config(tags=["mine"]).invoke(inp)
    assert "mine" in tagged[0] and any(t.startswith("router_plan:") for t in tagged[0])


def test_decorator_form_and_builder_untouched(router: Router) -> None:
    original = team()
    nodes_before = set(original.nodes)

    @routed(router, query=lambda s: s["question"])
    def build() -> StateGraph:
        return original

    g = build()
    assert isinstance(g, StateGraph) and g is not original
    app = g.compile()
    assert app.invoke({"question": "a prune=critic"})["calls"] == expected("a prune=critic")
    assert set(original.nodes) == nodes_before and not original.compiled
    with pytest.raises(ConfigError):
        routed(team())


def test_variant_cache_is_bounded(router: Router) -> None:
    g = StateGraph(S)
    names = [f"n{i}" for i in range(4)]
    prev = START
    for n in names:
        g.add_node(n, worker(n), metadata={"router": {"optional": n != "n0"}})
        g.add_edge(prev, n)
        prev = n
    g.add_edge(prev, END)
    app = routed(g, router=router, cache_size=2).compile()
    for prune in ("n1", "n2", "n3", "n1,n2"):
        out = app.invoke({"question": f"q prune={prune}"})
        assert [c for c, _ in out["calls"]] == [n for n in names if n not in prune.split(",")]
    assert app.routing.cached_variants == 2


def test_unannotated_nodes_keep_their_own_model_unless_opted_in(router: Router) -> None:
    app = routed(team(), router=router).compile()
    assert {r.name for r in app.routing.roles} == {"planner", "solver", "critic"}
    opted = routed(team(), router=router, route_unannotated=True).compile()
    assert {r.name: r.optional for r in opted.routing.roles}["agg"] is False


# -- fail-open ---------------------------------------------------------------------------------------------------
class Broken:
    def __init__(self, how: str) -> None:
        self.how = how

    @hookimpl(tryfirst=True)
    def score_models(self, pool: Any) -> Any:
        if self.how == "raise":
            raise RuntimeError("scorer down")
        return [float("nan")] * len(pool)


@pytest.mark.parametrize("how", ["raise", "nan"])
def test_fail_open_runs_the_required_nodes_on_the_default_model(how: str) -> None:
    r = Router(make_cards(), plugins=[FakeModels(), Broken(how)], load_entrypoints=False, default_model="small")
    own = FakeModels().make_chat_model(card=ModelCard(name="own"), framework="langchain")

    def node(state: S, config: RunnableConfig) -> dict[str, Any]:
        model = routed_model(config, default=own)
        return {"calls": [("n", model.invoke("x").content)], "meta": [dict(config["metadata"])]}

    g = StateGraph(S)
    g.add_node("n", node, metadata={"router": {}})
    g.add_node("opt", worker("opt"), metadata={"router": {"optional": True}})
    g.add_edge(START, "n")
    g.add_edge("n", "opt")
    g.add_edge("opt", END)
    out = routed(g, router=r).compile().invoke({"question": "q"})
    assert out["calls"][0] == ("n", "own says hi")  # the application's own model
    assert [c for c, _ in out["calls"]] == ["n"]  # the fault fallback runs required roles only
    meta = out["meta"][0]
    assert meta["router_fallback"] is True and "ScorerError" in meta["router_fallback_reason"]

    strict = Router(make_cards(), plugins=[FakeModels(), Broken(how)], load_entrypoints=False, fail_open=False)
    with pytest.raises(ScorerError):
        routed(g, router=strict).compile().invoke({"question": "q"})


def test_an_infeasible_budget_raises_even_when_failing_open() -> None:
    # the budget is hard: no run starts that no plan can pay for
    r = Router(make_cards(), plugins=[FakeModels()], load_entrypoints=False, budget_usd=1e-12)
    with pytest.raises(BudgetError, match="cheapest plan costs"):
        routed(team(), router=r).compile().invoke({"question": "q"})


def test_subgraph_nodes_see_their_parent_nodes_model(router: Router) -> None:
    def inner(state: S, config: RunnableConfig) -> dict[str, Any]:
        return {"calls": [("inner", routed_model(config).invoke("x").content)]}

    sub = StateGraph(S)
    sub.add_node("inner", inner)
    sub.add_edge(START, "inner")
    sub.add_edge("inner", END)
    g = StateGraph(S)
    g.add_node("planner", worker("planner"), metadata={"router": {}})
    g.add_node("team", sub.compile(), metadata={"router": {"role": "team", "optional": True}})
    g.add_edge(START, "planner")
    g.add_edge("planner", "team")
    g.add_edge("team", END)
    app = routed(g, router=router).compile()
    out = app.invoke({"question": "q model=big"})
    assert out["calls"][0] == ("planner", "big says hi") and out["calls"][-1] == ("inner", "big says hi")
    chunks = list(app.stream({"question": "q model=big"}, subgraphs=True))
    assert any(ns for ns, _ in chunks)
    assert app.invoke({"question": "q prune=team"})["calls"] == [("planner", "small says hi")]


def test_routed_graph_as_a_subgraph(router: Router) -> None:
    inner_app = routed(team(), router=router).compile()

    class P(TypedDict, total=False):
        question: str
        calls: Annotated[list[tuple[str, str | None]], operator.add]

    outer = StateGraph(P)
    outer.add_node("inner", inner_app)
    outer.add_edge(START, "inner")
    outer.add_edge("inner", END)
    out = outer.compile().invoke({"question": "z prune=critic model=big"})
    assert out["calls"] == expected("z prune=critic model=big")


def test_routed_model_without_config_uses_the_run_context(router: Router) -> None:
    def node(state: S) -> dict[str, Any]:
        return {"calls": [("n", routed_model().invoke("x").content)]}

    g = StateGraph(S)
    g.add_node("n", node, metadata={"router": {}})
    g.add_edge(START, "n")
    g.add_edge("n", END)
    app = routed(g, router=router).compile()
    assert app.invoke({"question": "q model=big"})["calls"] == [("n", "big says hi")]

    async def many() -> list[Any]:
        qs = [f"q{i} model={'big' if i % 2 else 'small'}" for i in range(16)]
        outs = await asyncio.gather(*(app.ainvoke({"question": q}) for q in qs))
        return [(q, o) for q, o in zip(qs, outs)]

    for q, out in asyncio.run(many()):
        assert out["calls"] == [("n", ("big" if "big" in q else "small") + " says hi")]
    with pytest.raises(LookupError):
        routed_model({"configurable": {}})


def test_fail_open_on_planning_timeout() -> None:
    import time as _time

    class Slow:
        @hookimpl(tryfirst=True)
        def score_models(self, pool: Any) -> Any:
            _time.sleep(0.5)
            return [0.5] * len(pool)

    r = Router(make_cards(), plugins=[FakeModels(), Slow()], load_entrypoints=False, timeout_s=0.05)
    out = routed(team(), router=r).compile().invoke({"question": "q"})
    assert out["meta"][0]["router_fallback"] is True and "timeout" in out["meta"][0]["router_fallback_reason"]
    assert [c for c, _ in out["calls"]] == ["planner", "solver", "agg"]  # the optional critic is dropped


def _unprunable_pair() -> StateGraph:
    g = StateGraph(S)
    for n in ("a", "b", "c"):
        g.add_node(n, worker(n), metadata={"router": {"optional": n != "a"}})
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "b", ["b"])
    g.add_edge("b", "c")  # b alone is prunable ...
    g.add_conditional_edges("c", lambda s: END, [END])  # ... c alone too, but not both: a branch would reach a branch
    return g


class PruneOptional:
    @hookimpl(tryfirst=True)
    def allocate_roles(self, roles: Any) -> Any:
        return [r.name for r in roles if not r.optional]


def test_rewrite_failure_fails_open(router: Router) -> None:
    app = routed(_unprunable_pair(), router=router).compile()
    assert app.routing.forced_required == {}
    out = app.invoke({"question": "q prune=b,c"})
    assert [c for c, _ in out["calls"]] == ["a", "b", "c"]  # the unrouted graph ran
    strict = Router(make_cards(), plugins=[FakeModels()], load_entrypoints=False, fail_open=False)
    from router_plugins.adapters.langgraph._rewire import RewireError

    strict.pm.register(PruneOptional())
    with pytest.raises(RewireError):
        routed(_unprunable_pair(), router=strict).compile().invoke({"question": "q"})


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
def test_rewrite_failure_re_plans_the_full_graph_within_the_budget(how: str) -> None:
    # the default model (big) on every node would break the budget: the full graph is re-planned instead
    probe = Router(make_cards(), load_entrypoints=False)
    per_node = probe.plan("q", ["a"], PlanOptions(lam=1e9)).cost_usd  # one node on the cheapest model
    r = Router(make_cards(), plugins=[FakeModels(), PruneOptional()], load_entrypoints=False, default_model="big",
               budget_usd=3.5 * per_node)
    app = routed(_unprunable_pair(), router=r).compile()
    state = {"question": "q"}
    out = app.invoke(state) if how == "invoke" else asyncio.run(app.ainvoke(state))
    assert [c for c, _ in out["calls"]] == ["a", "b", "c"]
    assert [reply for _, reply in out["calls"]] == ["small says hi"] * 3  # planned under the budget, not defaulted
    setup = app.routing.prepare(app, state, None)
    assert not setup.plan.fallback and setup.plan.cost_usd <= 3.5 * per_node and setup.target is None
    assert "could not rewrite the graph without" in setup.config["metadata"]["router_rewrite_failure"]
    r_tight = Router(make_cards(), plugins=[FakeModels(), PruneOptional()], load_entrypoints=False,
                     budget_usd=2.5 * per_node)
    with pytest.raises(BudgetError):  # the full graph fits no plan: refused, never run over the budget
        routed(_unprunable_pair(), router=r_tight).compile().invoke(state)
