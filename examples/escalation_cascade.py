"""Answer GSM8K with Mixtral first and call GPT-4 only when a trained judge doubts Mixtral's answer.

Offline: the two models' answers are replayed from RouteLLM's recorded GSM8K outcomes (embedded, Apache-2.0).
A ResponseJudge is trained on the train split's Mixtral answers; the escalation threshold is the cheapest one whose
out-of-fold replay on *train* reaches ``target`` × GPT-4's train quality. The test split is then answered through
``Router.escalate`` exactly as a live app would (``call`` would hit the model APIs there), and once more by a one-node
LangGraph app whose model is an ``EscalatingChatModel`` over replayed chat models: the same cascade, as a drop-in
chat model.

    python examples/escalation_cascade.py
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.messages import HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

from router_plugins import ModelCard, ModelPool, Router
from router_plugins.adapters.langchain.escalating import EscalatingChatModel
from router_plugins.adapters.langchain.replay import ReplayChatModels
from router_plugins.escalation import Escalation, escalation_front, replay_escalation, threshold_grid
from router_plugins.replay import ROUTELLM_PRICES, ReplayBook, load_outcomes
from router_plugins.scorer.response_judge import ResponseJudge

CHEAP, STRONG = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
DATA = Path(str(files("router_plugins") / "data" / "routellm_gsm8k"))


def main(target: float = 0.95, limit: int | None = None) -> dict[str, float]:
    table = load_outcomes(DATA / "gsm8k_gpt4_mixtral.csv.gz")
    train, test = table.split("train"), table.split("test")
    cheap, strong = train.model_index(CHEAP), train.model_index(STRONG)
    queries, responses = list(train.texts), [str(r) for r in train.responses[:, cheap]]  # type: ignore[index]
    labels = train.quality[:, cheap].tolist()

    # Choose the threshold on train, from confidences of judges that did not see the row.
    judge = ResponseJudge()
    oof = judge.out_of_fold(CHEAP, queries, responses, labels)
    quality, cost = train.quality[:, [cheap, strong]], train.cost[:, [cheap, strong]]  # type: ignore[index]
    candidates = [Escalation((CHEAP, STRONG), (t,)) for t in threshold_grid(oof, n=40)]
    front = escalation_front((e, *replay_escalation(e, quality, cost, lambda row, steps: oof[row])[:2])
                             for e in candidates)
    goal = target * float(train.quality[:, strong].mean())
    escalation = next(e for e, q, _ in front if q >= goal)
    judge.fit(CHEAP, queries, responses, labels)

    # Answer the test split through the router, replaying each model call.
    pool = ModelPool([ModelCard(name=m, provider="replay", input_price=p[0], output_price=p[1])
                      for m, p in ROUTELLM_PRICES.items()])
    book = ReplayBook(test)
    router = Router(pool, plugins=[judge, ReplayChatModels(book)], load_entrypoints=False,
                    disable_plugins=["router_plugins.scorer.plugin"])
    rows = list(test.texts[:limit])
    got_q, got_c, escalated, kept = [], [], 0, []

    for query in rows:
        def call(model: str, query: str = query) -> tuple[str, float | None]:
            record = book.answer(query, model)
            return record.response or "", record.cost_usd

        result = router.escalate(query, escalation, call)
        got_q.append(book.answer(query, result.model).quality)
        got_c.append(result.cost_usd or 0.0)
        escalated += result.escalated
        kept.append(result.model)

    # The same cascade as the chat model of a LangGraph node (replayed chat models stand in for the APIs).
    app = answer_graph(EscalatingChatModel(router=router, escalation=escalation))
    graph_kept = [app.invoke({"messages": [HumanMessage(q)]})["messages"][-1].response_metadata["router_model"]
                  for q in rows]

    n = len(rows)
    summary = {
        "threshold": escalation.thresholds[0],
        "quality": float(np.mean(got_q)),
        "cost_usd": float(np.mean(got_c)),
        "escalated": escalated / n,
        "cheap_quality": float(test.quality[:n, cheap].mean()),
        "strong_quality": float(test.quality[:n, strong].mean()),
        "strong_cost_usd": float(test.cost[:n, strong].mean()),  # type: ignore[index]
        "langgraph_agrees": float(np.mean([a == b for a, b in zip(kept, graph_kept)])),
    }
    print(f"GSM8K test, {n} questions: escalation {escalation.describe()}")
    print(f"  quality {summary['quality']:.3f} at ${summary['cost_usd']:.2e}/question, {summary['escalated']:.0%} "
          f"sent on to GPT-4 — vs Mixtral alone {summary['cheap_quality']:.3f}, GPT-4 alone "
          f"{summary['strong_quality']:.3f} at ${summary['strong_cost_usd']:.2e} "
          f"({summary['cost_usd'] / summary['strong_cost_usd']:.0%} of its cost)")
    print(f"  LangGraph app with EscalatingChatModel kept the same model on {summary['langgraph_agrees']:.0%} of them")
    return summary


def answer_graph(model: EscalatingChatModel) -> Any:
    """A one-node LangGraph app answering with ``model``."""

    def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    return StateGraph(MessagesState).add_node("answer", answer).add_edge(START, "answer").compile()


if __name__ == "__main__":
    main()
