"""Redaction of private data and credentials in texts that get logged or stored (exception messages, plan reasons).

``redact`` replaces what :mod:`router_plugins.guards.privacy` detects (e-mail, phone, payment card, IBAN, SSN, API
secrets) and credentials in key=value form (``?key=…``, ``api_key=…``, ``"password": "…"``), ``Authorization`` /
``Bearer`` / ``Basic`` tokens, JWTs, passwords in URLs (``scheme://user:password@host``) and whole PEM private key
blocks. Every pattern runs in linear time (lookbehind-gated starts, possessive runs), so a hostile text cannot make
logging slow. Over-redaction is preferred to a leak: a long number may be masked as a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from router_plugins.guards.privacy import FINDERS

__all__ = ["MASK", "redact"]

#: What replaces a redacted value (the kind of data follows in brackets for whole-span redactions).
MASK = "[REDACTED]"

_KEY_NAMES = (r"(?:api[_-]?key|apikey|x-api-key|key|access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token"
              r"|token|secret|client[_-]?secret|password|passwd|pwd|pass|sig|signature|credentials?|session[_-]?id)")
# name=value / name: value / "name": "value" (URL query strings, form bodies, headers, JSON, repr of dicts)
_KEY_VALUE = re.compile(
    r"(?<![A-Za-z0-9_])" + _KEY_NAMES + r"""["']?\s*+[:=]\s*+["']?+([^\s"'&,;#<>)}\]]++)""", re.IGNORECASE)
_AUTH = re.compile(r"(?<![A-Za-z0-9_])(?:bearer|basic|token)\s++([A-Za-z0-9._~+/=-]{8,}+)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*+://[^/\s:@]*+:([^/\s@]++)@")
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}+\.eyJ[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]*+")
_PEM = re.compile(r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----(?:[^-]++|-(?!----END ))*+(?:-----END [A-Z ]{0,40}"
                  r"PRIVATE KEY-----)?")


def _spans(text: str) -> Iterator[tuple[int, int, str]]:
    for pattern, kind in ((_PEM, "private_key"), (_JWT, "jwt")):
        for m in pattern.finditer(text):
            yield m.start(), m.end(), kind
    for pattern in (_KEY_VALUE, _AUTH, _URL_PASSWORD):  # keep the name, mask the value
        for m in pattern.finditer(text):
            yield m.start(1), m.end(1), ""
    for kind, find in FINDERS.items():
        for start, end in find(text):
            yield start, end, kind


def redact(text: str) -> str:
    """``text`` with private data and credentials replaced by ``[REDACTED]`` / ``[REDACTED:<kind>]`` markers."""
    if not isinstance(text, str):
        text = str(text)
    spans = sorted(_spans(text))
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    cur_start, cur_end, cur_kind = spans[0]
    for start, end, kind in spans[1:]:
        if start < cur_end:  # overlapping detections merge into one masked span
            cur_end = max(cur_end, end)
            cur_kind = cur_kind or kind
            continue
        out.append(text[pos:cur_start])
        out.append(f"[REDACTED:{cur_kind}]" if cur_kind else MASK)
        pos = cur_end
        cur_start, cur_end, cur_kind = start, end, kind
    out.append(text[pos:cur_start])
    out.append(f"[REDACTED:{cur_kind}]" if cur_kind else MASK)
    out.append(text[cur_end:])
    return "".join(out)
