"""A routed LangGraph run reports its outcome from a node; online learning then shifts the next runs' plans."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, StateGraph

from lg_fakes import FakeModels
from router_plugins import ModelCard, Query
from router_plugins.adapters.langgraph import current_binding, routed, routed_model
from router_plugins.online import OnlineFeedback
from router_plugins.outcome import Outcome, RoleOutcome
from router_plugins.router import Router


class S(TypedDict, total=False):
    question: str
    task: str
    answer: str


def graph(router: Router, grade: dict[str, float]) -> Any:
    def solve(state: S, config: RunnableConfig) -> dict[str, Any]:
        reply = routed_model(config).invoke(state["question"]).content
        binding = current_binding(config)
        assert binding is not None
        model = binding.model_name("solver") or ""
        # the app grades its answer and reports it: here every answer of a model gets that model's grade
        binding.routing.router.record(binding.plan, Outcome(roles=(RoleOutcome("solver", model),), score=grade[model]))
        return {"answer": reply}

    g = StateGraph(S).add_node("solve", solve, metadata={"router": {"role": "solver"}}).add_edge(START, "solve")
    return routed(g, router=router, query=lambda s: Query(s["question"], task=s["task"])).compile()


def test_outcomes_reported_from_a_node_move_later_plans() -> None:
    cards = [ModelCard(name="small", quality=0.7, input_price=0.1, output_price=0.2),
             ModelCard(name="big", quality=0.7, input_price=1.0, output_price=2.0)]
    online = OnlineFeedback(background=False, exploration=0.0, prior_strength=2.0)
    router = Router(cards, lam=10.0, plugins=[FakeModels(), online], load_entrypoints=False)
    app = graph(router, grade={"small": 0.0, "big": 1.0})
    assert app.invoke({"question": "q", "task": "math"})["answer"] == "small says hi"  # equal priors: the cheaper
    assert online.store.read(["math"]) == {("math", "small"): (1.0, 0.0)}  # the plan carried the run's task
    assert [app.invoke({"question": "q", "task": "math"})["answer"] for _ in range(3)] == ["big says hi"] * 3
    assert online.store.read(["math"])[("math", "big")] == (3.0, 3.0)
    assert app.invoke({"question": "q", "task": "poetry"})["answer"] == "big says hi"  # all-task statistics
