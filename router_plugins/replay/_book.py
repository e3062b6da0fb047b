"""Answer a (query, model) call from recorded outcomes: a routed run reports exact quality and cost, no API call."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from router_plugins.errors import DataError
from router_plugins._tokens import estimate_tokens
from router_plugins.replay._table import DEFAULT_OUTPUT_TOKENS, OutcomeTable

__all__ = ["ReplayBook", "ReplayRecord"]


@dataclass(frozen=True)
class ReplayRecord:
    """The recorded outcome of one model on one query (tokens estimated where the dataset did not record them)."""

    quality: float
    cost_usd: float | None
    response: str | None
    input_tokens: int
    output_tokens: int
    cost_estimated: bool


class ReplayBook:
    """Looks up recorded outcomes by exact query text (first occurrence wins) or row index."""

    def __init__(self, table: OutcomeTable) -> None:
        self._table = table
        self._rows: dict[str, int] = {}
        for i, text in enumerate(table.texts):
            self._rows.setdefault(text, i)

    @property
    def table(self) -> OutcomeTable:
        """The outcome table this book answers from."""
        return self._table

    @property
    def models(self) -> tuple[str, ...]:
        """The models that have recorded outcomes."""
        return self._table.models

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, query: object) -> bool:
        return isinstance(query, str) and query in self._rows

    def row_of(self, query: str | int) -> int:
        """Row index of a query given by its exact text or by index; DataError when unknown."""
        if isinstance(query, str):
            row = self._rows.get(query)
            if row is None:
                preview = query if len(query) <= 80 else query[:77] + "..."
                raise DataError(f"{self._table.name}: no recorded outcome for query {preview!r} (exact text match)")
            return row
        if isinstance(query, bool) or not isinstance(query, (int, np.integer)):
            raise DataError(f"{self._table.name}: a query is its text or a row index, got {type(query).__name__}")
        if not 0 <= int(query) < len(self._table):
            raise DataError(f"{self._table.name}: row {int(query)} out of range (0..{len(self._table) - 1})")
        return int(query)

    def answer(self, query: str | int, model: str) -> ReplayRecord:
        """What ``model`` did on ``query`` when the data was recorded; DataError when the outcome is missing."""
        table = self._table
        row = self.row_of(query)
        col = table.model_index(model)
        quality = float(table.quality[row, col])
        if math.isnan(quality):
            raise DataError(
                f"{table.name}: the outcome of {model!r} on row {row} is missing (not recorded); mask this query "
                "for this model instead of treating it as a failure"
            )
        response = None if table.responses is None else table.responses[row, col]
        response = response if isinstance(response, str) else None
        if table.input_tokens is not None:
            tin = int(table.input_tokens[row, col])
        else:
            tin = estimate_tokens(table.texts[row])
        if table.output_tokens is not None:
            tout = int(table.output_tokens[row, col])
        else:
            tout = estimate_tokens(response) if response is not None else DEFAULT_OUTPUT_TOKENS
        cost: float | None = None
        if table.cost is not None and not math.isnan(float(table.cost[row, col])):
            cost = float(table.cost[row, col])
        return ReplayRecord(
            quality=quality,
            cost_usd=cost,
            response=response,
            input_tokens=tin,
            output_tokens=tout,
            cost_estimated=table.cost_estimated and cost is not None,
        )
