"""The scorer as a router-plugins plugin: ``ScorerPlugin(scorer)`` answers ``score_models`` / ``score_batch``, and this
module's ``register_commands`` adds the ``train``, ``eval``, ``onboard`` and ``train-judge`` CLI commands.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from router_plugins.hookspecs import hookimpl

log = logging.getLogger("router_plugins")


class ScorerPlugin:
    """Scores every pool model with a trained scorer (unknown models: card prior or zero-shot estimate)."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer

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

    def novelty_of(self, query: Any) -> dict[str, float] | None:
        """The query's calibrated novelty and the weight its predictions give the robust prior (None: no detector)."""
        excess = self.scorer.novelty_scores([query], extended=True)
        if excess is None:
            return None
        shrink = float(self.scorer.novelty.alpha(excess)[0]) if self.scorer.shrink else 0.0
        return {"score": round(min(float(excess[0]), 1.0), 4), "shrink": round(shrink, 4)}

    @hookimpl(wrapper=True)
    def guard_query(self, query: Any, context: Any) -> Any:
        """Record the novelty in ``context.memo['novelty']`` before any guard decides (DomainGuard and the plan's
        metadata read it); the embedding is cached, so scoring the query afterwards costs nothing extra."""
        record_novelty(self, query, context)
        return (yield)

    @hookimpl
    def score_models(self, query: Any, pool: Any) -> list[float]:
        """Expected quality per ``pool.names`` entry for one query."""
        return self.scorer.predict([query], pool)[0].tolist()

    @hookimpl
    def score_batch(self, queries: Sequence[Any], pool: Any) -> Any:
        """Expected quality [n_queries, n_models] in one encoder pass."""
        return self.scorer.predict(list(queries), pool)


def record_novelty(plugin: ScorerPlugin, query: Any, context: Any) -> None:
    """Store ``plugin``'s novelty of ``query`` in the planning context once; a failure is logged, never raised (the
    score is advisory: planning must not fail because of it)."""
    memo = getattr(context, "memo", None)
    if memo is None or "novelty" in memo:
        return
    try:
        found = plugin.novelty_of(query)
    except Exception as exc:  # noqa: BLE001 - an advisory score must not break planning
        log.warning("router_plugins: novelty score failed (%s: %s)", type(exc).__name__, exc)
        return
    if found is not None:
        memo["novelty"] = found


@hookimpl
def register_commands(cli: Any) -> None:
    """Add ``train``, ``eval``, ``onboard`` and ``train-judge`` to the ``router-plugins`` click group."""
    from router_plugins.scorer.commands import eval_command, onboard_command, train_command, train_judge_command

    for command in (train_command, eval_command, onboard_command, train_judge_command):
        cli.add_command(command)
