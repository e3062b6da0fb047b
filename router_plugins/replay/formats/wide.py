"""The wide outcome CSV (RouterBench style, and the format users write): one row per query, a column ``<model>`` with
each model's score in [0, 1], ``<model>|total_cost`` with its recorded cost and optionally ``<model>|model_response``.

Optional columns: ``split`` (``train`` / ``test`` / …; without it the data records no split), a task column
(``eval_name`` / ``task`` / ``task_name``; without it every row's task is ``unknown``) and ``cluster_id``. The README
section "Outcome data formats" documents it with an example (``examples/outcomes.csv``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import DataError
from router_plugins.replay._table import DEFAULT_OUTPUT_TOKENS, NO_SPLIT, OutcomeTable
from router_plugins.replay.formats import _columns as col
from router_plugins.replay.formats._registry import LoadOptions, OutcomeFormat

if TYPE_CHECKING:
    import pandas as pd

TEXT_COLUMNS = ("prompt", "question", "query", "text")
TASK_COLUMNS = ("eval_name", "task", "task_name")
COST_SUFFIX = "|total_cost"
RESPONSE_SUFFIX = "|model_response"
#: The task of rows from a CSV without a task column: a family the router has not seen (no per-task prior applies).
UNKNOWN_TASK = "unknown"
# Bookkeeping columns that are neither a model nor its cost (RouterBench and our own exports).
_META_COLUMNS = {"split", "cluster_id", "oracle_model_to_route_to", "source_file", "sample_id", "routerbench_row",
                 "row_idx"}
_META_SUFFIXES = ("_id", "_idx", "_index", "_row")


def wide_models(columns: Sequence[str]) -> list[str]:
    """Score columns that have a ``<model>|total_cost`` partner, in file order."""
    present = set(columns)
    return [c for c in columns if f"{c}{COST_SUFFIX}" in present]


def _recognise(columns: Sequence[str], folder: Path, models: Sequence[str] | None) -> bool:
    cols = set(columns)
    if any(c.endswith(COST_SUFFIX) for c in columns):
        return True
    return bool(models) and set(models or ()) <= cols and bool(cols & set(TEXT_COLUMNS))


def _looks_like_scores(s: pd.Series) -> bool:
    import pandas as pd

    if s.dtype == bool:
        return True
    values = pd.to_numeric(s, errors="coerce")
    if values.notna().sum() == 0 or values.notna().sum() < s.notna().sum():
        return False
    return bool(values.min() >= 0 and values.max() <= 1)


def _check_columns(df: pd.DataFrame, cols: list[str], model_cols: list[str], named: bool, p: Path) -> None:
    """A model half-described is an error, not a silent drop: a cost or response column without its score column, or
    (when the models come from the cost columns) a score-like column without its cost column."""
    present = set(cols)
    for c in cols:
        for suffix in (COST_SUFFIX, RESPONSE_SUFFIX):
            if c.endswith(suffix) and c.removesuffix(suffix) not in present:
                raise DataError(f"{p}: column {c!r} has no score column {c.removesuffix(suffix)!r}; every model needs "
                                f"'<model>' (score in [0, 1]) and '<model>{COST_SUFFIX}' ({col.README_FORMATS})")
    if named:
        return
    claimed = set(model_cols) | set(TEXT_COLUMNS) | set(TASK_COLUMNS) | _META_COLUMNS
    for c in cols:
        if c in claimed or "|" in c or c.endswith(_META_SUFFIXES):
            continue
        if _looks_like_scores(df[c]):
            raise DataError(f"{p}: column {c!r} holds scores in [0, 1] but has no {c + COST_SUFFIX!r} column; add "
                            f"the model's recorded cost per query (or drop the column) ({col.README_FORMATS})")


def _check_recorded(quality: NDArray[np.float64], cost: NDArray[np.float64], models: Sequence[str], p: Path) -> None:
    """Every recorded score has a finite cost (NaN or inf would be silently masked out of the means)."""
    for j, model in enumerate(models):
        bad = np.flatnonzero(np.isinf(cost[:, j]) | (np.isnan(cost[:, j]) & ~np.isnan(quality[:, j])))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{p}: column {model + COST_SUFFIX!r} has a non-finite cost ({cost[i, j]}) in row {i} "
                            f"(line {i + 2}) and {bad.size - 1} more; every recorded score needs a finite cost")


def _load(files: Sequence[Path], options: LoadOptions) -> OutcomeTable:
    (p,) = files
    df = col.read_csv(p)
    cols = [str(c) for c in df.columns]
    model_cols = list(options.models) if options.models else wide_models(cols)
    missing = [m for m in model_cols if m not in cols]
    if missing or not model_cols:
        raise DataError(f"{p}: model score columns {missing or model_cols} not found; columns are {cols[:20]}")
    _check_columns(df, cols, model_cols, bool(options.models), p)
    text_col = next((c for c in TEXT_COLUMNS if c in cols), None)
    if text_col is None:
        raise DataError(f"{p}: no query text column (one of {list(TEXT_COLUMNS)}) ({col.README_FORMATS})")
    task_col = next((c for c in TASK_COLUMNS if c in cols), None)
    n, m = len(df), len(model_cols)
    texts = col.texts(df[text_col], p)
    tasks = df[task_col].fillna(UNKNOWN_TASK).astype(str).to_numpy() if task_col else np.full(n, UNKNOWN_TASK)
    splits = df["split"].astype(str).to_numpy() if "split" in cols else np.full(n, NO_SPLIT)
    quality = col.scores(df, model_cols, p)

    responses: NDArray[np.object_] | None = None
    if any(f"{mo}{RESPONSE_SUFFIX}" in cols for mo in model_cols):
        responses = np.full((n, m), None, dtype=object)
        for j, mo in enumerate(model_cols):
            rc = f"{mo}{RESPONSE_SUFFIX}"
            if rc in cols:
                responses[:, j] = [None if not isinstance(v, str) else col.unlist(v) for v in df[rc].tolist()]

    tin = col.text_tokens(texts, m)
    default_out = np.full((n, m), DEFAULT_OUTPUT_TOKENS, dtype=np.int64)
    tout = col.response_tokens(responses, default_out) if responses is not None else default_out
    cost_cols = [f"{mo}{COST_SUFFIX}" for mo in model_cols]
    cost: NDArray[np.float64] | None
    if all(c in cols for c in cost_cols):
        cost = col.scores(df, cost_cols, p)
        col.check_cost(cost, p)
        _check_recorded(quality, cost, model_cols, p)
        estimated = False
        cost_note = "recorded per-query cost (the '<model>|total_cost' columns, USD)"
    else:
        col.require_prices(model_cols, options.prices, p)
        cost = col.price_cost(model_cols, options.prices, tin, tout) if options.prices else None
        estimated = cost is not None
        cost_note = (
            "estimated: tokens (chars/4; output from the response where present) × the given prices"
            if cost is not None
            else "no cost columns; pass prices= to estimate"
        )
    routerbench = "oracle_model_to_route_to" in cols
    return col.build(
        p,
        name=options.name,
        texts=texts,
        tasks=tasks,
        splits=splits,
        models=tuple(model_cols),
        quality=quality,
        cost=cost,
        cost_estimated=estimated,
        responses=responses,
        clusters=col.clusters(df),
        metric="accuracy (0/1, RouterBench grading)" if routerbench else "score",
        prices=options.prices,
        meta={
            "source": options.name,
            "format": "wide csv",
            "file": str(p),
            "cost_note": cost_note,
            "tokens_note": "estimated: input = prompt chars/4, output = response chars/4 "
            f"({DEFAULT_OUTPUT_TOKENS} where no response)",
        },
        input_tokens=tin,
        output_tokens=tout,
    )


FORMAT = OutcomeFormat(
    name="wide",
    description="a wide CSV (.csv or .csv.gz): one row per query, a text column (prompt/question/query/text), per "
    "model a '<model>' score column in [0, 1] and a '<model>|total_cost' column (or models=[...] naming the score "
    "columns), optional 'split' and task (eval_name/task/task_name) columns",
    recognise=_recognise,
    load=_load,
    priority=90,
)
