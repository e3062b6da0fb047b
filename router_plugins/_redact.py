"""Redaction of secrets and personal data from text that is logged or stored (exception texts, plan reasons)."""

from __future__ import annotations

import re

__all__ = ["redact"]

_PATTERNS = (
    re.compile(r"(?i)([?&](?:api[_-]?key|key|token|secret|password)=)[^&\s]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),
)


def redact(text: str) -> str:
    """``text`` with secrets replaced by ``[redacted]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text
