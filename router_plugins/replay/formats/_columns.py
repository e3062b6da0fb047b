"""Column helpers the format modules share: query texts, numeric scores, token estimates, price-based cost, checks.

pandas is imported inside the functions so that ``import router_plugins.replay`` stays light.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import DataError
from router_plugins.replay._table import DEFAULT_OUTPUT_TOKENS, OutcomeTable
from router_plugins.replay.formats._registry import Prices

if TYPE_CHECKING:
    import pandas as pd

#: Where the README documents the accepted layouts (error messages point here, not to files users may not have).
README_FORMATS = "README section 'Outcome data formats'"


def read_csv(p: Path) -> pd.DataFrame:
    """The whole CSV (``.csv`` or ``.csv.gz``) as a DataFrame."""
    import pandas as pd

    return pd.read_csv(p)


def unlist(value: object) -> object:
    """A string holding a Python list literal of strings (RouterBench style) → the strings joined by newlines."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            return "\n".join(parsed)
    return value


def texts(series: pd.Series, where: Path) -> tuple[str, ...]:
    """Query texts of a column; an empty cell is an error naming the column (a router cannot route nothing)."""
    if series.isna().any():
        raise DataError(f"{where}: column {series.name!r} has {int(series.isna().sum())} empty query texts")
    return tuple(str(unlist(v)) for v in series.tolist())


def scores(frame: pd.DataFrame, columns: Sequence[str], where: Path) -> NDArray[np.float64]:
    """The given columns as floats (booleans and 'True'/'False' strings → 1/0); DataError naming a non-numeric one."""
    import pandas as pd

    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, col in enumerate(columns):
        s = frame[col]
        if s.dtype == bool:
            out[:, j] = s.to_numpy(dtype=np.float64)
            continue
        if s.dtype == object or str(s.dtype) in ("str", "string"):
            s = s.replace({"True": 1.0, "False": 0.0, "true": 1.0, "false": 0.0, True: 1.0, False: 0.0})
        try:
            out[:, j] = pd.to_numeric(s, errors="raise").to_numpy(dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise DataError(f"{where}: column {col!r} should hold numeric scores ({exc})") from exc
    return out


def clusters(frame: pd.DataFrame) -> NDArray[np.int64] | None:
    """The data's own cluster ids (``cluster_id``, -1 where empty), or None."""
    if "cluster_id" not in frame.columns:
        return None
    return frame["cluster_id"].fillna(-1).to_numpy(dtype=np.float64).astype(np.int64)


def token_counts(lengths: NDArray[Any]) -> NDArray[np.int64]:
    """Vectorised :func:`router_plugins._tokens.estimate_tokens` over character counts."""
    return np.maximum(1, (np.asarray(lengths, dtype=np.int64) + 3) // 4)


def text_tokens(items: Sequence[str], m: int, extra: NDArray[np.int64] | int = 0) -> NDArray[np.int64]:
    """Estimated input tokens of each text (+ ``extra``), repeated for the m models."""
    tok = token_counts(np.fromiter((len(t) for t in items), dtype=np.int64, count=len(items))) + extra
    return np.repeat(tok[:, None], m, axis=1)


def task_tokens(tasks: Sequence[str], table: dict[str, int], m: int) -> NDArray[np.int64]:
    """Output tokens per row from a per-task table (``a|b`` rows use task a), repeated for the m models."""
    per_row = np.array([table.get(str(t).split("|")[0], DEFAULT_OUTPUT_TOKENS) for t in tasks], dtype=np.int64)
    return np.repeat(per_row[:, None], m, axis=1)


def response_tokens(responses: NDArray[np.object_], fallback: NDArray[np.int64]) -> NDArray[np.int64]:
    """Estimated output tokens from each recorded response, ``fallback`` where there is none."""
    lengths = np.vectorize(lambda r: len(r) if isinstance(r, str) else -1, otypes=[np.int64])(responses)
    return np.where(lengths >= 0, token_counts(np.maximum(lengths, 0)), fallback)


def price_cost(
    models: Sequence[str], prices: Prices, tin: NDArray[np.int64], tout: NDArray[np.int64]
) -> NDArray[np.float64] | None:
    """USD cost = (input tokens × input price + output tokens × output price) / 1e6; None if a model has no price."""
    if not all(m in prices for m in models):
        return None
    pin = np.array([prices[m][0] for m in models], dtype=np.float64)
    pout = np.array([prices[m][1] for m in models], dtype=np.float64)
    return (tin * pin + tout * pout) / 1e6


def missing_prices(models: Sequence[str], prices: Prices) -> list[str]:
    """Models without a price."""
    return [m for m in models if m not in prices]


def require_prices(models: Sequence[str], prices: Prices, where: Path) -> None:
    """When prices are the only source of cost, a partial price list is a mistake: say which models lack one."""
    missing = missing_prices(models, prices)
    if prices and missing:
        raise DataError(f"{where}: prices= has no price for {missing}; give (input, output) USD per 1M for every model")


def build(where: Path, **kwargs: Any) -> OutcomeTable:
    """An OutcomeTable whose validation errors name the file they came from; a model without a single recorded
    score is refused (it would be masked everywhere and let routers look better than the oracle)."""
    try:
        table = OutcomeTable(**kwargs)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from exc
    if len(table):
        empty = [m for j, m in enumerate(table.models) if np.isnan(table.quality[:, j]).all()]
        if empty:
            raise DataError(f"{where}: model column(s) {empty} have no score in any row; fill them or remove the model")
    return table


def check_cost(cost: NDArray[np.float64], where: Path) -> None:
    """Recorded costs are never negative (NaN = not recorded is allowed here)."""
    finite = cost[np.isfinite(cost)]
    if finite.size and finite.min() < 0:
        raise DataError(f"{where}: negative cost {finite.min()} in the cost columns")


def stem(p: Path) -> str:
    """A file's name without ``.csv`` / ``.csv.gz``."""
    name = p.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return name
