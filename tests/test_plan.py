from __future__ import annotations

import json

import pytest

from router_plugins import ConfigError, Plan, RoleAssignment


def _plan() -> Plan:
    return Plan(
        mode="full",
        roles=(
            RoleAssignment("solver", "big", "best", quality=0.9, cost_usd=0.01, latency_s=2.0),
            RoleAssignment("critic", None, "expected gain 0.01 < λ·cost 0.2"),
        ),
        quality=0.9,
        cost_usd=0.01,
        latency_s=2.0,
        budget_usd=0.05,
        lam=20.0,
        query_id="abc",
        metadata={"k": "v"},
    )


def test_assignments_mapping_and_reasons() -> None:
    plan = _plan()
    assert dict(plan.assignments) == {"solver": "big", "critic": None}
    assert plan.reasons["critic"].startswith("expected gain")
    assert plan.kept == ("solver",) and plan.pruned == ("critic",)
    assert plan.model_for("solver") == "big"
    with pytest.raises(KeyError, match="not in this plan"):
        plan.model_for("nobody")
    with pytest.raises(TypeError):
        plan.assignments["solver"] = "small"  # type: ignore[index]


def test_json_round_trip_and_signature() -> None:
    plan = _plan()
    again = Plan.from_json(plan.to_json())
    assert again == plan
    assert again.signature == plan.signature
    assert json.loads(plan.to_json())["signature"] == plan.signature


def test_signature_depends_on_structure_only() -> None:
    plan = _plan()
    cheaper = Plan(mode=plan.mode, roles=plan.roles, quality=0.1, cost_usd=5.0, query_id="other")
    assert cheaper.signature == plan.signature
    assert plan.with_roles(solver="small").signature != plan.signature
    assert plan.with_roles(critic="small").assignments["critic"] == "small"


def test_tampered_or_malformed_json_is_rejected() -> None:
    data = json.loads(_plan().to_json())
    data["roles"][0]["model"] = "small"
    with pytest.raises(ConfigError, match="signature"):
        Plan.from_json(json.dumps(data))
    with pytest.raises(ConfigError, match="malformed"):
        Plan.from_json("{not json")
    with pytest.raises(ConfigError, match="unknown plan field"):
        Plan.from_dict({**json.loads(_plan().to_json()), "surprise": 1})
    with pytest.raises(ConfigError, match="malformed"):
        Plan.from_json("[1, 2]")


def test_explain_names_models_and_pruned_roles() -> None:
    text = _plan().explain()
    assert "solver" in text and "big" in text
    assert "critic" in text and "pruned" in text and "expected gain" in text
    assert "budget $0.05" in text
