"""The in-memory table of recorded per-query × per-model outcomes that replay, training and evaluation share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import DataError

__all__ = ["DEFAULT_OUTPUT_TOKENS", "NO_SPLIT", "OutcomeTable"]

#: Output tokens assumed when nothing better is known (no recorded count, no response text, unknown task).
DEFAULT_OUTPUT_TOKENS = 50

#: The split of every row of data that records no split: ``train`` then uses all rows and ``eval`` cross-validates.
NO_SPLIT = "all"


@dataclass(frozen=True, eq=False)
class OutcomeTable:
    """Recorded outcomes: one row per query, one column per model.

    ``quality`` already follows the dataset's own metric (e.g. ``mc_prob`` → 1.0 when score > 0), is in [0, 1]
    and is NaN where no outcome was recorded (masked, never counted as 0). ``cost`` is per (query, model) in
    ``cost_unit`` (USD unless the data records another unit, e.g. LLM calls), NaN where unknown; ``cost_estimated``
    says it came from estimated tokens × card prices rather than records. "Models" may be whole multi-agent
    configurations (``n_agents=4``, ``routemoa``): a column is whatever the router chooses between.
    ``input_tokens`` / ``output_tokens`` (optional, (queries, models) ints) are the per-call token counts, recorded
    where the dataset has them and estimated otherwise (``meta["tokens_note"]`` says which).
    """

    name: str
    texts: tuple[str, ...]
    tasks: NDArray[np.str_]
    splits: NDArray[np.str_]
    models: tuple[str, ...]
    quality: NDArray[np.float64]
    cost: NDArray[np.float64] | None = None
    cost_estimated: bool = False
    responses: NDArray[np.object_] | None = None
    clusters: NDArray[np.int64] | None = None
    metric: str = "accuracy"
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    input_tokens: NDArray[np.int64] | None = None
    output_tokens: NDArray[np.int64] | None = None
    cost_unit: str = "USD"

    def __post_init__(self) -> None:
        n, m = len(self.texts), len(self.models)
        if self.quality.shape != (n, m):
            raise DataError(f"{self.name}: quality has shape {self.quality.shape}, expected ({n}, {m})")
        for label, arr in (("tasks", self.tasks), ("splits", self.splits)):
            if arr.shape != (n,):
                raise DataError(f"{self.name}: {label} has shape {arr.shape}, expected ({n},)")
        if self.cost is not None and self.cost.shape != (n, m):
            raise DataError(f"{self.name}: cost has shape {self.cost.shape}, expected ({n}, {m})")
        if self.responses is not None and self.responses.shape != (n, m):
            raise DataError(f"{self.name}: responses has shape {self.responses.shape}, expected ({n}, {m})")
        for label, tok in (("input_tokens", self.input_tokens), ("output_tokens", self.output_tokens)):
            if tok is not None and tok.shape != (n, m):
                raise DataError(f"{self.name}: {label} has shape {tok.shape}, expected ({n}, {m})")
        finite = self.quality[~np.isnan(self.quality)]
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            raise DataError(f"{self.name}: quality must lie in [0, 1] (got {finite.min()}..{finite.max()})")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def has_split(self) -> bool:
        """False when the data records no split (every row is :data:`NO_SPLIT`)."""
        return bool(len(self)) and not bool(np.all(self.splits == NO_SPLIT))

    @property
    def has_cost(self) -> bool:
        """True when every recorded outcome has a cost (recorded or estimated)."""
        return self.cost is not None

    def split(self, name: str) -> OutcomeTable:
        """Rows of one split (``train``, ``test``, ``ood_test`` …); raises DataError when there are none."""
        mask = self.splits == name
        if not mask.any():
            raise DataError(f"{self.name}: no rows in split {name!r} (splits: {sorted(set(self.splits.tolist()))})")
        return self.select(mask)

    def select(self, rows: NDArray[np.bool_] | NDArray[np.int64]) -> OutcomeTable:
        """A new table with only the given rows (boolean mask or indices)."""
        idx = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows)
        return OutcomeTable(
            name=self.name,
            texts=tuple(self.texts[i] for i in idx),
            tasks=self.tasks[idx],
            splits=self.splits[idx],
            models=self.models,
            quality=self.quality[idx],
            cost=None if self.cost is None else self.cost[idx],
            cost_estimated=self.cost_estimated,
            responses=None if self.responses is None else self.responses[idx],
            clusters=None if self.clusters is None else self.clusters[idx],
            metric=self.metric,
            prices=self.prices,
            descriptions=self.descriptions,
            meta=self.meta,
            input_tokens=None if self.input_tokens is None else self.input_tokens[idx],
            output_tokens=None if self.output_tokens is None else self.output_tokens[idx],
            cost_unit=self.cost_unit,
        )

    def model_index(self, name: str) -> int:
        """Column of a model; raises DataError listing the models when unknown."""
        try:
            return self.models.index(name)
        except ValueError:
            raise DataError(f"{self.name}: unknown model {name!r}; models are {list(self.models)}") from None
