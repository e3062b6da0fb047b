"""The shipped trained scorer as the default: it scores pools that contain models it was trained on.

For a pool with none of the checkpoint's models it answers None, so the card priors decide as before; for a
pool with some, unknown models get their card prior (or a zero-shot estimate from their card). The checkpoint
is numpy-only at inference and loads on first use (~0.25 s). Replace it by registering your own ``score_models``
with ``tryfirst=True``, e.g. ``ScorerPlugin.from_checkpoint(dir)``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

from router_plugins.cards import ModelPool
from router_plugins.hookspecs import hookimpl
from router_plugins.query import Query

log = logging.getLogger("router_plugins")
_lock = threading.Lock()


@cache
def known_models() -> frozenset[str]:
    """The models of the shipped checkpoint (read from its config only; empty when it cannot be read)."""
    from router_plugins.errors import CheckpointError
    from router_plugins.scorer.checkpoint import read_config
    from router_plugins.scorer.trained_scorer import DEFAULT_CHECKPOINT

    try:
        return frozenset(read_config(DEFAULT_CHECKPOINT)["models"])
    except CheckpointError as exc:
        log.warning("router_plugins: default scorer unavailable (%s); card priors decide", exc)
        return frozenset()


_loaded: Any = None


def _plugin() -> Any:
    """The shipped scorer, loaded once even when several threads plan at the same time."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                from router_plugins.scorer.plugin import ScorerPlugin

                _loaded = ScorerPlugin.default()
    return _loaded


def _applies(pool: ModelPool) -> bool:
    return not known_models().isdisjoint(pool.names)


@hookimpl(wrapper=True)
def guard_query(query: Query, context: Any) -> Any:
    """Record the shipped scorer's novelty of the query (plan metadata, DomainGuard) when the pool applies."""
    if _applies(context.pool):
        from router_plugins.scorer.plugin import record_novelty

        record_novelty(_plugin(), query, context)
    return (yield)


@hookimpl
def score_models(query: Query, pool: ModelPool) -> list[float] | None:
    """Trained predictions when the pool has models the checkpoint knows, else None (card priors)."""
    return _plugin().score_models(query=query, pool=pool) if _applies(pool) else None


@hookimpl
def score_batch(queries: Sequence[Query], pool: ModelPool) -> Any:
    """The same for a batch, in one encoder pass."""
    return _plugin().score_batch(queries=queries, pool=pool) if _applies(pool) else None
