"""The replay chat model, the vote bounds and the multi-agent example (run in-process, small)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from examples_loader import load_example
from router_plugins.adapters.langchain.replay import ReplayChatModel, ReplayChatModels, replay_usage
from router_plugins.adapters.langgraph.team_demo import format_team_demo, load_team_data, run_team_demo, vote_bounds
from router_plugins.errors import DataError
from router_plugins.replay import ReplayBook


@pytest.fixture(scope="module")
def data() -> tuple[Any, Any, Any]:
    return load_team_data(10)


def test_replay_model_answers_with_recorded_quality_tokens_and_cost(data: Any) -> None:
    _, rows, pool = data
    book = ReplayBook(rows)
    name = pool.names[3]
    model = ReplayChatModel(book=book, model=name)
    reply = model.invoke([SystemMessage("be brief"), HumanMessage(rows.texts[0])])
    rec = book.answer(rows.texts[0], name)
    quality, cost, estimated = replay_usage(reply)
    assert quality == rec.quality and cost == rec.cost_usd and estimated == rec.cost_estimated
    assert reply.usage_metadata["input_tokens"] == rec.input_tokens
    assert reply.usage_metadata["output_tokens"] == rec.output_tokens
    assert model.bind_tools([]) is model
    with pytest.raises(DataError):
        model.invoke([HumanMessage("a question nobody recorded")])


def test_replay_plugin_builds_only_replay_cards_for_known_frameworks(data: Any) -> None:
    _, rows, pool = data
    plugin = ReplayChatModels(ReplayBook(rows))
    card = pool[pool.names[0]]
    assert isinstance(plugin.make_chat_model(card=card, framework="langchain"), ReplayChatModel)
    assert plugin.make_chat_model(card=card, framework="autogen") is None  # the AutoGen adapter has its own plugin
    assert plugin.make_chat_model(card=card, framework="crewai") is None
    pytest.importorskip("autogen_core")
    from router_plugins.adapters.autogen import ReplayCompletionClient, ReplayCompletionClients

    autogen_plugin = ReplayCompletionClients(ReplayBook(rows))
    assert isinstance(autogen_plugin.make_chat_model(card=card, framework="autogen"), ReplayCompletionClient)
    assert autogen_plugin.make_chat_model(card=card, framework="langchain") is None
    assert plugin.make_chat_model(card=card.model_copy(update={"provider": "openai"}), framework="langchain") is None


def majority_possible(solvers: list[int], verifier: int | None) -> set[float]:
    """Brute force: every way wrong answers may coincide (labels 1..n; 0 = the correct answer)."""
    outcomes = set()
    n = len(solvers)
    wrong = [i for i, s in enumerate(solvers) if not s]
    vwrong = verifier is not None and not verifier
    for labels in itertools.product(range(1, n + 2), repeat=len(wrong) + vwrong):
        answers = [0 if s else None for s in solvers]
        for i, lab in zip(wrong, labels):
            answers[i] = lab
        v = None if verifier is None else (0 if verifier else labels[-1])
        counts = {a: answers.count(a) for a in answers}
        top = max(counts.values())
        tied = [a for a in dict.fromkeys(answers) if counts[a] == top]
        pick = tied[0] if len(tied) == 1 else (v if v in tied else answers[0])
        outcomes.add(float(pick == 0))
    return outcomes


@pytest.mark.parametrize("n", [1, 2, 3])
def test_vote_bounds_match_brute_force(n: int) -> None:
    for solvers in itertools.product([0, 1], repeat=n):
        for verifier in (None, 0, 1):
            low, high = vote_bounds([float(s) for s in solvers], None if verifier is None else float(verifier))
            possible = majority_possible(list(solvers), verifier)
            assert (low, high) == (min(possible), max(possible)), (solvers, verifier, possible)


def test_run_team_demo_small() -> None:
    result = run_team_demo(n_queries=10, lambdas=[0.0, 1e5], single_models=False)
    kinds = [(r["kind"], r.get("scorer")) for r in result["results"]]
    assert kinds == [("routed", "trained"), ("routed", "trained"), ("routed", "prior"), ("routed", "prior"),
                     ("most_expensive", None)]
    for free, cheap in (result["results"][0:2], result["results"][2:4]):
        assert cheap["node_runs"]["solver_2"] == 0 and cheap["calls_per_query"] == 2  # λ large: optional nodes pruned
        assert free["cost_usd"] > cheap["cost_usd"] > 0
    for r in result["results"]:
        assert 0 <= r["quality_low"] <= r["quality_high"] <= 1
    text = format_team_demo(result)
    assert "most expensive" in text and "pruned always" in text


def test_example_main_runs_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    result = load_example("langgraph_team").main(["--queries", "10", "--lambdas", "0", "3000", "--no-single-models"])
    out = capsys.readouterr().out
    assert "plan " in out and "quality [low, high]" in out and result["n_queries"] == 10
