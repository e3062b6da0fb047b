"""Built-in judge for escalation cascades: model-free checks of an answer (blank, provably wrong arithmetic,
agreement with the answers of the models called before it)."""

from __future__ import annotations

from collections.abc import Sequence

from router_plugins.escalation import Attempt
from router_plugins.hookspecs import hookimpl
from router_plugins.judges import checked_confidence


@hookimpl(trylast=True)
def judge_response(response: str, attempts: Sequence[Attempt]) -> float:
    """See :func:`router_plugins.judges.checked_confidence`; runs after every other judge plugin."""
    return checked_confidence(response, [a.response for a in attempts])
