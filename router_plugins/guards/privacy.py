"""Guarded routing: keep queries that carry private data on local models (or refuse them).

``PrivacyGuard`` is an opt-in plugin for ``guard_query``. It looks for e-mail addresses, phone numbers, payment card
numbers (Luhn-checked), IBANs (mod-97-checked), US social security numbers and API secrets (OpenAI / AWS / GitHub /
Slack keys, PEM private keys) with plain regular expressions (well under a millisecond), and pins every role of a
query that has any of them to a local model: the first of ``local_models`` in the pool, else a card tagged
``"local"``, else one whose provider runs in-process. Without a local model it rejects the query. The pin also holds
when planning fails later (the fallback plan uses the pinned model, never the default one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from router_plugins.context import GuardDecision, PlanContext
from router_plugins.errors import ConfigError
from router_plugins.hookspecs import hookimpl
from router_plugins.query import Query

__all__ = ["DETECTORS", "LOCAL_PROVIDERS", "PrivacyGuard", "private_data"]

#: Providers whose models run on this machine.
LOCAL_PROVIDERS = frozenset({"local_hf", "ollama", "llamacpp", "llama_cpp", "vllm_local", "replay"})

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){2,4}(?![\w.])")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_SECRET = re.compile(
    r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36}\b|\bxox[abpr]-[A-Za-z0-9-]{10,}"
    r"|-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _has_card(text: str) -> bool:
    return any(_luhn(d) for d in (re.sub(r"\D", "", m) for m in _CARD.findall(text)) if 13 <= len(d) <= 19)


def _has_iban(text: str) -> bool:
    for match in _IBAN.findall(text):
        code = match.replace(" ", "")
        moved = code[4:] + code[:4]
        if 15 <= len(code) <= 34 and int("".join(str(int(c, 36)) for c in moved)) % 97 == 1:
            return True
    return False


def _has_phone(text: str) -> bool:
    return any(9 <= len(re.sub(r"\D", "", m)) <= 15 for m in _PHONE.findall(text))


#: Detector name → check. Each says whether the text holds that kind of private data.
DETECTORS: dict[str, Callable[[str], bool]] = {
    "email": lambda t: _EMAIL.search(t) is not None,
    "phone": _has_phone,
    "payment_card": _has_card,
    "iban": _has_iban,
    "us_ssn": lambda t: _SSN.search(t) is not None,
    "secret": lambda t: _SECRET.search(t) is not None,
}


def private_data(text: str, detectors: Iterable[str] = DETECTORS) -> list[str]:
    """Names of the detectors that fire on ``text``."""
    return [name for name in detectors if DETECTORS[name](text)]


class PrivacyGuard:
    """Plugin: queries carrying private data run on a local model only (or are refused when there is none)."""

    def __init__(self, local_models: Sequence[str] = (), *, detectors: Iterable[str] | None = None) -> None:
        self.local_models = tuple(local_models)
        self.detectors = tuple(DETECTORS if detectors is None else detectors)
        unknown = sorted(set(self.detectors) - set(DETECTORS))
        if unknown:
            raise ConfigError(f"unknown privacy detector(s) {unknown}; known: {sorted(DETECTORS)}")

    def local_model(self, context: PlanContext) -> str | None:
        """The local model to pin to: the first configured one in the pool, else a local-tagged or in-process card."""
        pool = context.pool
        for name in self.local_models:
            if name in pool:
                return name
        for card in pool:
            if "local" in card.tags or (card.provider or "") in LOCAL_PROVIDERS:
                return card.name
        return None

    @hookimpl(tryfirst=True)
    def guard_query(self, query: Query, context: PlanContext) -> GuardDecision | None:
        """Pin to a local model (or reject) when the query holds private data; pass otherwise."""
        found = private_data(query.text, self.detectors)
        if not found:
            return None
        kinds = ", ".join(found)
        local = self.local_model(context)
        if local is None:
            return GuardDecision("reject", f"the query holds private data ({kinds}) and the pool has no local model")
        return GuardDecision("pin", f"private data ({kinds}): kept on local model {local!r}", model=local)
