"""The scorer as a router-plugins plugin: ``ScorerPlugin(scorer)`` answers ``score_models`` / ``score_batch``, and this
module's ``register_commands`` adds the ``train``, ``eval``, ``onboard`` and ``train-judge`` CLI commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from router_plugins.hookspecs import hookimpl


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

    @hookimpl
    def score_models(self, query: Any, pool: Any) -> list[float]:
        """Expected quality per ``pool.names`` entry for one query."""
        return self.scorer.predict([query], pool)[0].tolist()

    @hookimpl
    def score_batch(self, queries: Sequence[Any], pool: Any) -> Any:
        """Expected quality [n_queries, n_models] in one encoder pass."""
        return self.scorer.predict(list(queries), pool)


@hookimpl
def register_commands(cli: Any) -> None:
    """Add ``train``, ``eval``, ``onboard`` and ``train-judge`` to the ``router-plugins`` click group."""
    from router_plugins.scorer.commands import eval_command, onboard_command, train_command, train_judge_command

    for command in (train_command, eval_command, onboard_command, train_judge_command):
        cli.add_command(command)
