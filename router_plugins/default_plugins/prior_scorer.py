"""Zero-training scorer: each card's prior quality (per task family where the card gives one)."""

from __future__ import annotations

from router_plugins.cards import ModelPool
from router_plugins.hookspecs import hookimpl
from router_plugins.query import Query

#: Quality assumed for a card that states none: uninformative, so cost decides between such models.
UNKNOWN_QUALITY = 0.5


@hookimpl(trylast=True)
def score_models(query: Query, pool: ModelPool) -> list[float]:
    """The card prior for the query's task, else the card's default, else UNKNOWN_QUALITY."""
    scores = []
    for card in pool:
        prior = card.prior_quality(query.task)
        scores.append(UNKNOWN_QUALITY if prior is None else prior)
    return scores
