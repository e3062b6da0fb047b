"""Names that match nothing are not silent (issue 12.5): one message shape, one WARNING per name, ``strict`` raises.

A role name given to an adapter that matches no agent or no planned role is almost always a typo (``"critc"``); it
must not quietly become a paid extra role or quietly use the default model.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Hashable, Iterable

from router_plugins.errors import ConfigError

__all__ = ["WarnOnce", "report_unmatched", "unmatched_message"]

log = logging.getLogger("router_plugins")


def unmatched_message(what: str, name: str, known: Iterable[str], fix: str) -> str:
    """``"<what> 'critc' matches nothing (known: ...); did you mean 'critic'? <fix>"``."""
    known = sorted(set(known))
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{what} {name!r} matches nothing (known: {known}){hint} {fix}"


class WarnOnce:
    """Logs each key's WARNING the first time only (thread-safe)."""

    def __init__(self) -> None:
        self._seen: set[Hashable] = set()
        self._lock = threading.Lock()

    def __call__(self, key: Hashable, message: str) -> bool:
        """Log ``message`` at WARNING unless ``key`` was warned about before; True when it logged."""
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
        log.warning("router_plugins: %s", message)
        return True


def report_unmatched(message: str, *, strict: bool, warn: WarnOnce, key: Hashable) -> None:
    """Raise ConfigError(message) when ``strict``, else warn once per ``key``."""
    if strict:
        raise ConfigError(message)
    warn(key, message)
