"""PrivacyGuard: private data stays on a local model, also when planning fails; no local model → refused."""

from __future__ import annotations

import subprocess
import sys
import textwrap
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


# Inputs on which the old detectors backtracked quadratically (a 200,000-character run took 43.9 s per plan for the
# e-mail pattern alone); at 1 MB each they would take many minutes. Run in a child process so that a regression fails
# at the timeout instead of hanging the suite; the bound is two orders of magnitude above the linear time.
PATHOLOGICAL = textwrap.dedent("""
    from router_plugins._redact import redact
    from router_plugins.guards import private_data
    n = 1_000_000
    texts = ["a" * n, "a." * (n // 2), "a@" * (n // 2), "x@" + "a." * (n // 2), "1 " * (n // 2), "12-" * (n // 3),
             "AB12 " * (n // 5), "sk-" * (n // 3), "(12) " * (n // 5), "-----BEGIN PRIVATE KEY-----" * (n // 27),
             "key=" * (n // 4), "a://" * (n // 4), "Bearer " * (n // 7)]
    for t in texts:
        private_data(t)
        redact(t)
    print("done", len(texts))
""")


def test_pathological_inputs_for_backtracking_regexes_finish() -> None:
    done = subprocess.run([sys.executable, "-c", PATHOLOGICAL], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "done 13"


def test_detectors_still_find_data_inside_long_runs() -> None:
    assert "email" in private_data("x" * 100_000 + " jane@example.com " + "y" * 100_000)
    assert "payment_card" in private_data("1 " * 50_000 + "\n4111 1111 1111 1111\n")
    assert "email" in private_data("lone\ud800 surrogate jane@example.com")  # invalid UTF-16 reaches every detector
