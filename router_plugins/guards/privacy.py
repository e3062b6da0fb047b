"""Guarded routing: keep queries that carry private data on local models (or refuse them).

``PrivacyGuard`` is an opt-in plugin for ``guard_query``. It looks for e-mail addresses, phone numbers, payment card
numbers (Luhn-checked), IBANs (mod-97-checked), US social security numbers and API secrets (OpenAI / AWS / GitHub /
Slack keys, PEM private keys) with regular expressions that run in linear time (well under a millisecond for a
query, milliseconds for a megabyte), and pins every role of a query that has any of them to a local model: the first of ``local_models`` in the pool, else a card tagged
``"local"``, else one whose provider runs in-process. Without a local model it rejects the query. The pin also holds
when planning fails later (the fallback plan uses the pinned model, never the default one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from router_plugins.context import GuardDecision, PlanContext
from router_plugins.errors import ConfigError
from router_plugins.hookspecs import hookimpl
from router_plugins.query import Query

__all__ = ["DETECTORS", "FINDERS", "LOCAL_PROVIDERS", "PrivacyGuard", "private_data"]

#: Providers whose models run on this machine.
LOCAL_PROVIDERS = frozenset({"local_hf", "ollama", "llamacpp", "llama_cpp", "vllm_local", "replay"})

# A text first meets a superset of each pattern compiled with RE2 (a DFA: linear time, ~2 ms per megabyte), so
# text without candidates never reaches Python's backtracking engine. Where RE2 finds a candidate, the exact pattern
# runs. Every exact pattern is linear too in the text: a match may only start where the previous character cannot extend it
# (a lookbehind, checked in O(1)), and the unbounded runs are possessive (``++``), so no start position rescans a run
# and no run is given back character by character. Bounded repetitions keep the rest O(1) per start.
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@(?:[A-Za-z0-9-]++\.)+[A-Za-z]{2,}+\b")
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){2,4}(?![\w.])")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_SECRET = re.compile(
    r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}+|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36}\b|\bxox[abpr]-[A-Za-z0-9-]{10,}+"
    r"|-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"
)
_NOT_DIGIT = {ord(" "): None, ord("-"): None, ord("("): None, ord(")"): None, ord("+"): None, ord("."): None}
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # digit sum of 2·d


def _luhn(digits: str) -> bool:
    odd = sum(map(int, digits[-1::-2]))
    even = sum(_DOUBLED[int(d)] for d in digits[-2::-2])
    return (odd + even) % 10 == 0


def _iban_ok(match: str) -> bool:
    code = match.replace(" ", "")
    moved = code[4:] + code[:4]
    return 15 <= len(code) <= 34 and int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _re2_compile(pattern: str) -> Any:
    try:  # google-re2 is a dependency; without it (an unsupported platform) the exact patterns alone are still linear
        import re2
    except ImportError:  # pragma: no cover - exercised only where the wheel is missing
        return None
    return re2.compile(pattern.encode())


def _spans(pattern: re.Pattern[str], prefilter: str, check: Callable[[str], bool] | None = None) -> Finder:
    quick: list[Any] = []  # compiled on first use: importing RE2 costs ~20 ms, not worth paying at import time

    def find(text: str) -> Iterator[tuple[int, int]]:
        if not quick:
            quick.append(_re2_compile(prefilter))
        # bytes, with lone surrogates passed through: every str (even invalid UTF-16) reaches the prefilter
        if quick[0] is not None and quick[0].search(text.encode("utf-8", "surrogatepass")) is None:
            return
        for m in pattern.finditer(text):
            if check is None or check(m.group()):
                yield m.span()
    return find


Finder = Callable[[str], Iterator[tuple[int, int]]]

#: Detector name → finder of the (start, end) spans of that kind of private data in a text (checksums applied).
FINDERS: dict[str, Finder] = {
    "email": _spans(_EMAIL, r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\."),
    "phone": _spans(_PHONE, r"\d\d[ .-]\d\d", lambda m: 9 <= len(m.translate(_NOT_DIGIT)) <= 15),
    "payment_card": _spans(_CARD, r"\d(?:[ -]?\d){12}", lambda m: _luhn(m.translate(_NOT_DIGIT))),
    "iban": _spans(_IBAN, r"[A-Z]{2}\d\d ?[A-Z0-9]{4}", _iban_ok),
    "us_ssn": _spans(_SSN, r"\d{3}-\d\d-\d{4}"),
    "secret": _spans(_SECRET, r"sk-|AKIA|gh[pousr]_|xox[abpr]-|-----BEGIN "),
}


def _detector(find: Finder) -> Callable[[str], bool]:
    return lambda text: next(find(text), None) is not None


#: Detector name → check. Each says whether the text holds that kind of private data.
DETECTORS: dict[str, Callable[[str], bool]] = {name: _detector(find) for name, find in FINDERS.items()}


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
