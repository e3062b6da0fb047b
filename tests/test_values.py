"""Small value types: Query, Role, Mode, Outcome, token estimates."""

from __future__ import annotations

import pytest

from router_plugins import ConfigError, Mode, Outcome, Plan, Query, QueryError, Role, RoleAssignment, RoleOutcome
from router_plugins.modes import BUILTIN_MODES, REFLECTION
from router_plugins._tokens import estimate_tokens


def test_query_is_frozen_and_validated() -> None:
    q = Query("hello", task="chat", tenant="acme", metadata={"a": 1})
    with pytest.raises(AttributeError):
        q.text = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        q.metadata["b"] = 2  # type: ignore[index]
    assert Query.coerce("hi") == Query("hi") and Query.coerce(q) is q
    with pytest.raises(QueryError, match="budget_usd"):
        Query("hi", budget_usd=0)


def test_role_parse_and_validation() -> None:
    assert Role.parse("critic?") == Role("critic", optional=True)
    assert Role.parse(" solver ") == Role("solver")
    assert Role("a", models="m").models == ("m",)
    with pytest.raises(ConfigError, match="non-empty name"):
        Role(" ")
    with pytest.raises(ConfigError, match="lift"):
        Role("a", lift=2)


def test_modes() -> None:
    assert [m.name for m in BUILTIN_MODES] == ["single", "full", "vote-3", "reflection"]
    assert REFLECTION.transform(0.5) > 0.5 and REFLECTION.samples == 2
    with pytest.raises(ValueError, match="samples"):
        Mode("bad", samples=0)


def test_outcome_totals_and_match() -> None:
    plan = Plan("single", (RoleAssignment("a", "m"), RoleAssignment("b", None)))
    out = Outcome(roles=(RoleOutcome("a", "m", 100, 20, 0.002, 0.5),), score=0.7)
    assert out.cost_usd == pytest.approx(0.002) and out.latency_s == 0.5 and out.quality == 0.7
    assert out.matches(plan)
    assert not Outcome(roles=(RoleOutcome("a", "other"),)).matches(plan)
    assert Outcome().quality is None and Outcome(success=False).quality == 0.0


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 1
    assert estimate_tokens("abcd" * 10) == 10
