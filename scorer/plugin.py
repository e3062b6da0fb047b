"""The trained scorer as router-plugins plugins.

This module is itself the built-in default scorer: it scores pools that contain models the shipped checkpoint was
trained on. For a pool with none of them it answers None, so the card priors decide; for a pool with some, unknown
models get their card prior (or a zero-shot estimate from their card). The checkpoint is numpy-only at inference and
loads on first use (~0.25 s). Replace it by registering your own ``ScorerPlugin.from_checkpoint(dir)`` (its
``score_models`` runs first: plugins given to the Router are called before the built-ins) or disable this module
(``disable_plugins=["router_plugins.scorer.plugin"]``). Its ``register_commands`` adds the ``train``, ``eval``,
``onboard`` and ``train-judge`` CLI commands.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from router_plugins._redact import redact
from router_plugins.cards import ModelPool
from router_plugins.hookspecs import hookimpl
from router_plugins.query import Query


class ScorerPlugin:
    """Scores every pool model with a trained scorer (unknown models: card prior or zero-shot estimate)."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        # the last score_batch's novelty per query, for the guard hook that follows it on this thread
        self._batch = threading.local()

    @classmethod
    def default(cls) -> ScorerPlugin:
        """The plugin over the checkpoint shipped in the package (fast encoder, MIT / Apache-2.0 training data)."""
        from router_plugins.scorer.trained_scorer import load_default_scorer

        return cls(load_default_scorer())

    @classmethod
    def from_checkpoint(cls, path: str | Path, **kwargs: Any) -> ScorerPlugin:
        """The plugin over a checkpoint folder written by ``router-plugins train`` / ``onboard``."""
        from router_plugins.scorer.trained_scorer import TrainedScorer

        return cls(TrainedScorer.load(path, **kwargs))

    def __repr__(self) -> str:
        return f"ScorerPlugin(models={self.scorer.models})"

    def novelty_of(self, query: Any) -> dict[str, Any] | None:
        """The query's calibrated novelty, the weight its predictions give the robust prior and, for a task label
        unseen in training, the reason its novelty is certain (None: no detector)."""
        kept = getattr(self._batch, "found", {}).pop(id(query), None)  # read once: the batch's texts are not kept
        if kept is not None and kept[0] is query:  # computed with its batch (the identity check guards id reuse)
            return kept[1]
        return self._novelties(self.scorer.novelty_reading([query]), 1)[0]

    @staticmethod
    def _novelties(reading: Any, n: int) -> list[dict[str, Any] | None]:
        if reading is None:
            return [None] * n
        out: list[dict[str, Any] | None] = []
        for i in range(n):
            found: dict[str, Any] = {"score": round(float(reading.score[i]), 4),
                                     "shrink": round(float(reading.shrink[i]), 4)}
            reason = reading.reason(i)
            if reason is not None:
                found["reason"] = reason
            out.append(found)
        return out

    @hookimpl(wrapper=True)
    def guard_query(self, query: Any, context: Any) -> Any:
        """Record the novelty in ``context.metadata['novelty']`` before any guard decides (DomainGuard and the plan's
        metadata read it); the embedding is cached, so scoring the query afterwards costs nothing extra."""
        record_novelty(self, query, context)
        return (yield)

    @hookimpl
    def register_tasks(self, register: Any) -> None:
        """Declare the checkpoint's training tasks (the router checks per-task card keys against them)."""
        for task in sorted(self.scorer.known_tasks):
            register(task)

    @hookimpl
    def score_models(self, query: Any, pool: Any) -> list[float]:
        """Expected quality per ``pool.names`` entry for one query."""
        return self.scorer.predict([query], pool)[0].tolist()

    @hookimpl
    def score_batch(self, queries: Sequence[Any], pool: Any) -> Any:
        """Expected quality [n_queries, n_models] in one encoder pass; the batch's novelty is read in the same pass
        and kept for the per-query guard hook that records it."""
        queries = list(queries)
        self._batch.found, reading = {}, None  # a failure below must not leave the previous batch's readings behind
        try:
            reading = self.scorer.novelty_reading(queries)
            self._batch.found = {id(q): (q, f) for q, f in zip(queries, self._novelties(reading, len(queries)))}
        except Exception as exc:  # noqa: BLE001 - advisory: each query's guard hook reads it again (and logs)
            log.debug("router_plugins: batch novelty failed (%s)", redact(f"{type(exc).__name__}"))
        return self.scorer.predict(queries, pool, reading=reading if self.scorer.shrink else None)


log = logging.getLogger("router_plugins")
_lock = threading.Lock()


@cache
def known_models() -> frozenset[str]:
    """The models of the shipped checkpoint (read from its config only; empty when it cannot be read or its encoder,
    model2vec, is not installed — then the card priors decide)."""
    return frozenset(_default_config().get("models", ()))


@cache
def _default_config() -> dict[str, Any]:
    """The shipped checkpoint's config.json, or {} when the scorer cannot run (see :func:`known_models`)."""
    import importlib.util

    from router_plugins.errors import CheckpointError

    if importlib.util.find_spec("model2vec") is None:
        log.debug("router_plugins: model2vec is not installed; the shipped scorer is off (install router-plugins[demo])")
        return {}
    from router_plugins.scorer.checkpoint import read_config
    from router_plugins.scorer.trained_scorer import DEFAULT_CHECKPOINT

    try:
        return dict(read_config(DEFAULT_CHECKPOINT))
    except CheckpointError as exc:
        log.warning("router_plugins: default scorer unavailable (%s); card priors decide", redact(str(exc)))
        return {}


_loaded: Any = None


def _plugin() -> Any:
    """The shipped scorer, loaded once even when several threads plan at the same time."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = ScorerPlugin.default()
    return _loaded


def _applies(pool: ModelPool) -> bool:
    return not known_models().isdisjoint(pool.names)


@hookimpl
def register_tasks(register: Any, pool: ModelPool) -> None:
    """The shipped checkpoint's training tasks, when the pool has models it knows."""
    if _applies(pool):
        from router_plugins.scorer.checkpoint import trained_tasks

        for task in sorted(trained_tasks(_default_config())):
            register(task)


@hookimpl
def score_models(query: Query, pool: ModelPool) -> list[float] | None:
    """Trained predictions when the pool has models the checkpoint knows, else None (card priors)."""
    return _plugin().score_models(query=query, pool=pool) if _applies(pool) else None


@hookimpl
def score_batch(queries: Sequence[Query], pool: ModelPool) -> Any:
    """The same for a batch, in one encoder pass."""
    return _plugin().score_batch(queries=queries, pool=pool) if _applies(pool) else None


@hookimpl(wrapper=True)
def guard_query(query: Query, context: Any) -> Any:
    """Record the shipped scorer's novelty of the query (plan metadata, DomainGuard) when the pool applies."""
    if _applies(context.pool):
        record_novelty(_plugin(), query, context)
    return (yield)


def record_novelty(plugin: ScorerPlugin, query: Any, context: Any) -> None:
    """Store ``plugin``'s novelty of ``query`` in the planning context once; a failure is logged, never raised (the
    score is advisory: planning must not fail because of it)."""
    metadata = getattr(context, "metadata", None)
    if metadata is None or "novelty" in metadata:
        return
    try:
        found = plugin.novelty_of(query)
    except Exception as exc:  # noqa: BLE001 - an advisory score must not break planning
        log.warning("router_plugins: novelty score failed (%s)", redact(f"{type(exc).__name__}: {exc}"))
        return
    if found is not None:
        metadata["novelty"] = found


@hookimpl
def register_commands(cli: Any) -> None:
    """Add ``train``, ``eval``, ``onboard`` and ``train-judge`` to the ``router-plugins`` click group."""
    from router_plugins.scorer.commands import eval_command, onboard_command, train_command, train_judge_command

    for command in (train_command, eval_command, onboard_command, train_judge_command):
        cli.add_command(command)
