"""examples/escalation_cascade.py runs offline on the embedded GSM8K outcomes, beats both single models' trade-off,
and its LangGraph app (EscalatingChatModel) keeps the same answers as Router.escalate."""

from __future__ import annotations

import pytest

from examples_loader import load_example


def test_escalation_example_is_cheaper_than_gpt4_and_better_than_mixtral(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("langgraph")
    summary = load_example("escalation_cascade").main(limit=150)
    assert 0.0 < summary["escalated"] < 1.0
    assert summary["quality"] > summary["cheap_quality"] + 0.05
    assert summary["cost_usd"] < 0.8 * summary["strong_cost_usd"]
    assert summary["langgraph_agrees"] == 1.0
    assert "GSM8K test, 150 questions" in capsys.readouterr().out
