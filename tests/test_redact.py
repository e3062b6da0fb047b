"""redact(): private data and credentials never survive into logged or stored texts, whatever the input."""

from __future__ import annotations

import logging

import pytest

from router_plugins._redact import redact
from router_plugins.online import OnlineFeedback
from router_plugins.outcome import Outcome
from router_plugins.plan import Plan, RoleAssignment

SECRETS = {
    "GET https://api.example.com/v1/chat?key=AIzaSyD-abc123XYZ&q=hi failed": "AIzaSyD-abc123XYZ",
    "HTTPError 401 for https://h/x?foo=1&api_key=abcd1234efgh": "abcd1234efgh",
    "headers={'Authorization': 'Bearer tok_live_0123456789abcdef'}": "tok_live_0123456789abcdef",
    'payload {"password": "hunter2!", "user": "bob"}': "hunter2!",
    "x-api-key: 0123456789abcdef": "0123456789abcdef",
    "postgresql://bob:s3cr3t-pw@db.internal:5432/app refused": "s3cr3t-pw",
    "redis://:hunter22@cache:6379/0": "hunter22",
    "openai key sk-proj-abcdefghijklmnopqrstuvwxyz0123 invalid": "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
    "aws AKIAIOSFODNN7EXAMPLE denied": "AKIAIOSFODNN7EXAMPLE",
    "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl": "c2lnbmF0dXJl",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75\n-----END RSA PRIVATE KEY-----": "MIIEpAIBAAKCAQEA75",
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhk truncated": "MIIEvQIBADANBgkqhk",
    "query 'mail jane.doe@example.com my card 4111 1111 1111 1111' failed": "jane.doe@example.com",
    "card 4111-1111-1111-1111 in query": "4111-1111-1111-1111",
    "IBAN GB82 WEST 1234 5698 7654 32 rejected": "GB82 WEST 1234 5698 7654 32",
    "ssn 123-45-6789": "123-45-6789",
    "call +44 20 7946 0958": "7946 0958",
    "form token=abc123def456&next=/": "abc123def456",
    "client_secret = 'zzzzyyyyxxxx'": "zzzzyyyyxxxx",
}


@pytest.mark.parametrize("text, secret", SECRETS.items())
def test_secrets_and_private_data_are_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "[REDACTED" in out


def test_ordinary_text_is_left_alone() -> None:
    for text in ("ValueError: unknown model 'gpt-4o'", "timeout after 30.0 s (attempt 3 of 5)",
                 "KeyError: 'critic'", "budget 0.002 exceeded by plan 7f3a", ""):
        assert redact(text) == text


def test_names_are_kept_so_the_message_stays_useful() -> None:
    assert redact("url https://h/x?key=abc123&q=1") == "url https://h/x?key=[REDACTED]&q=1"
    assert redact("contact jane@example.com") == "contact [REDACTED:email]"


def test_hostile_inputs() -> None:
    assert redact("x\ud800 key=abc123 \x00 jane@example.com") == "x\ud800 key=[REDACTED] \x00 [REDACTED:email]"
    assert redact(ValueError("api_key=abc123")) == "api_key=[REDACTED]"  # type: ignore[arg-type]
    nested = "key=sk-abcdefghijklmnopqrstuvwxyz123456@evil.com"  # overlapping detections merge into one mask
    assert "sk-" not in redact(nested) and "abcdefghij" not in redact(nested)
    many = " ".join(f"user{i}@example.com" for i in range(5000))
    assert "@example.com" not in redact(many)
    ansi = "\x1b[31mjane@example.com\x1b[0m"
    assert "jane@" not in redact(ansi)


def test_online_store_errors_are_logged_redacted(caplog: pytest.LogCaptureFixture) -> None:
    class Leaky:
        url = "postgresql://bob:pw-in-url@db/x"

        def add(self, rows: object) -> None:
            raise RuntimeError("insert failed for https://h/x?key=SECRETKEY123 owner jane@example.com")

        def read(self, keys: object) -> dict:
            raise RuntimeError("select failed: password=hunter2")

    online = OnlineFeedback(Leaky(), background=False)  # type: ignore[arg-type]
    plan = Plan(mode="single", roles=(RoleAssignment("default", "m"),))
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        online.record(plan, Outcome(score=1.0))
        online.adjust(None, ["m"], [0.5])
    text = caplog.text
    assert "cannot write" in text and "cannot read" in text
    for secret in ("pw-in-url", "SECRETKEY123", "jane@example.com", "hunter2"):
        assert secret not in text
