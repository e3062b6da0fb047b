"""PrivacyGuard: private data stays on a local model, also when planning fails; no local model → refused."""

from __future__ import annotations

from typing import Any

import pytest

from router_plugins import ConfigError, ModelCard, Query, Role, Router, hookimpl
from router_plugins.errors import QueryRejectedError
from router_plugins.guards import PrivacyGuard, private_data


@pytest.mark.parametrize("text, kind", [
    ("Contact me at jane.doe@example.com", "email"),
    ("Call +44 20 7946 0958 tomorrow", "phone"),
    ("My card is 4111 1111 1111 1111", "payment_card"),
    ("IBAN GB82 WEST 1234 5698 7654 32 please", "iban"),
    ("SSN 123-45-6789", "us_ssn"),
    ("key sk-abcdefghijklmnopqrstuvwxyz123456", "secret"),
    ("AKIAIOSFODNN7EXAMPLE", "secret"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE...", "secret"),
])
def test_private_data_is_detected(text: str, kind: str) -> None:
    assert kind in private_data(text)


@pytest.mark.parametrize("text", [
    "What is 2+3? The year 2024 had 366 days, pi is 3.14159.",
    "Compute 123456789 * 987654321",
    "The population grew from 1,234,567 to 2,345,678 between 1990 and 2000.",
    "Version 1.2.3.4 released on 2024-05-01",
    "Card 4111 1111 1111 1112 fails the Luhn check",
])
def test_ordinary_text_passes(text: str) -> None:
    assert private_data(text) == []


def test_checksums_reject_lookalikes() -> None:
    assert "iban" not in private_data("GB82 WEST 1234 5698 7654 33 fails mod 97")
    assert "payment_card" not in private_data("order 4111 1111 1111 1112")


def cards(local: bool = True) -> list[ModelCard]:
    pool = [ModelCard(name="api-small", quality=0.6, input_price=0.1, output_price=0.1),
            ModelCard(name="api-big", quality=0.9, input_price=5.0, output_price=15.0)]
    if local:
        pool.append(ModelCard(name="on-prem", provider="local_hf", model="smollm2", quality=0.3))
    return pool


ROLES = [Role("solver"), Role("critic", optional=True)]


def test_private_queries_are_pinned_to_the_local_model() -> None:
    router = Router(cards(), plugins=[PrivacyGuard()], load_entrypoints=False, lam=0.0)
    plan = router.plan(Query("Email the report to jane.doe@example.com"), roles=ROLES)
    assert set(plan.assignments.values()) <= {"on-prem", None} and plan.model_for("solver") == "on-prem"
    assert "email" in plan.metadata["guard"]
    assert router.plan(Query("Summarise the report"), roles=ROLES).model_for("solver") == "api-big"


def test_no_local_model_means_refusal() -> None:
    router = Router(cards(local=False), plugins=[PrivacyGuard()], load_entrypoints=False)
    with pytest.raises(QueryRejectedError, match="no local model"):
        router.plan(Query("my card 4111-1111-1111-1111"))


def test_the_pin_holds_when_planning_fails() -> None:
    class Broken:
        @hookimpl(tryfirst=True)
        def score_models(self, query: Any, pool: Any, context: Any) -> Any:
            raise RuntimeError("scorer down")

    router = Router(cards(), plugins=[PrivacyGuard(), Broken()], load_entrypoints=False, default_model="api-big")
    plan = router.plan(Query("SSN 123-45-6789, is it valid?"), roles=ROLES)
    assert plan.fallback and set(plan.assignments.values()) - {None} == {"on-prem"}  # optional roles dropped
    assert router.plan(Query("harmless"), roles=ROLES).model_for("solver") == "api-big"  # unpinned fallback


def test_configured_local_models_and_detectors() -> None:
    pool = [*cards(local=False), ModelCard(name="laptop", tags=("local",)), ModelCard(name="rack", tags=("local",))]
    guard = PrivacyGuard(local_models=["rack"], detectors=["email"])
    router = Router(pool, plugins=[guard], load_entrypoints=False)
    assert router.plan(Query("write to a@b.io")).model_for("default") == "rack"
    assert router.plan(Query("call +44 20 7946 0958")).model_for("default") != "rack"  # phone not checked
    assert Router(pool, plugins=[PrivacyGuard()], load_entrypoints=False).plan(
        Query("write to a@b.io")).model_for("default") == "laptop"
    with pytest.raises(ConfigError, match="unknown privacy detector"):
        PrivacyGuard(detectors=["dna"])
