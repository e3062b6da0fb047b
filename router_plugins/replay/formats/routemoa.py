"""routemoa_multiagent: MoA, Sparse MoA and RouteMoA (one 15-model pool) on the same 450 items, one row per item ×
system (``system``, ``dataset``, ``item_id``, ``is_correct``, ``cost``, tokens, the final answer).

The table has one row per item and one "model" column per configuration (``moa``, ``smoa``, ``routemoa``); cost is
the recorded cost of the whole multi-agent run on the item, in the price units of the source's price table (the
currency is not stated there; treated as USD). Items whose metric is not item-level accuracy (no ``is_correct``) are
dropped. The data records no split (``eval`` cross-validates, stratified by dataset).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import DataError
from router_plugins.replay._table import NO_SPLIT, OutcomeTable
from router_plugins.replay.formats import _columns as col
from router_plugins.replay.formats._registry import LoadOptions, OutcomeFormat

_REQUIRED = {"system", "dataset", "item_id", "is_correct", "cost", "question"}
#: Column order of the three systems RouteMoA released (others, if any, follow in name order).
SYSTEMS = ("moa", "smoa", "routemoa")


def _load(files: Sequence[Path], options: LoadOptions) -> OutcomeTable:
    import pandas as pd

    (p,) = files
    df = col.read_csv(p)
    df = df.assign(dataset=df["dataset"].astype(str), item_id=df["item_id"].astype(str),
                   system=df["system"].astype(str))
    if df.duplicated(["dataset", "item_id", "system"]).any():
        raise DataError(f"{p}: duplicate (dataset, item_id, system) rows")
    found = set(df["system"].tolist())
    systems = [s for s in SYSTEMS if s in found] + sorted(found - set(SYSTEMS))
    df = df.assign(_correct=col.scores(df, ["is_correct"], p)[:, 0], _cost=col.scores(df, ["cost"], p)[:, 0])
    scored = df.groupby(["dataset", "item_id"], sort=False)["_correct"].transform(lambda s: s.notna().any())
    dropped = df.loc[~scored.astype(bool), ["dataset", "item_id"]].drop_duplicates()
    df = df[scored.astype(bool)]
    if df.empty:
        raise DataError(f"{p}: no item has an item-level 'is_correct' value")
    first = df.drop_duplicates(["dataset", "item_id"]).set_index(["dataset", "item_id"])
    index = first.index

    def wide(column: str, dtype: type = np.float64) -> NDArray:
        table = df.pivot(index=["dataset", "item_id"], columns="system", values=column)
        return table.reindex(index=index, columns=systems).to_numpy(dtype=dtype)

    quality, cost = wide("_correct"), wide("_cost")
    col.check_cost(cost, p)
    tokens: dict[str, NDArray[np.int64] | None] = {}
    for key, source in (("input_tokens", "prompt_tokens_total"), ("output_tokens", "completion_tokens_total")):
        if source in df.columns:
            raw = wide(source)
            tokens[key] = np.where(np.isfinite(raw), raw, 0).astype(np.int64)
        else:
            tokens[key] = None
    responses = None
    if "model_response" in df.columns:
        raw_responses = wide("model_response", object)
        responses = np.where(pd.isna(raw_responses), None, raw_responses).astype(object)
    calls = {}
    if "n_models_called" in df.columns:
        means = df.groupby("system")["n_models_called"].mean()
        calls = {s: float(means[s]) for s in systems if s in means.index}
    datasets = index.get_level_values("dataset").astype(str).to_numpy()
    return col.build(
        p,
        name=options.name,
        texts=col.texts(first["question"], p),
        tasks=datasets,
        splits=np.full(len(index), NO_SPLIT),
        models=tuple(systems),
        quality=quality,
        cost=cost,
        cost_unit="USD",
        responses=responses,
        metric="accuracy (0/1, RouteMoA's per-item answer check)",
        meta={
            "source": options.name,
            "format": "routemoa_multiagent",
            "file": str(p),
            "configurations": "MoA (15 proposers, 3 rounds), Sparse MoA (moderated, early stop), RouteMoA (learned "
            "proposer pre-selection); aggregator DeepSeek-V3-0324",
            "cost_note": "recorded cost of the whole multi-agent run per item (the source's price table; its currency "
            "is not stated there, treated as USD)",
            "tokens_note": "recorded prompt / completion tokens summed over every call of the run",
            "mean_models_called": calls,
            "dropped_unscored_items": len(dropped),
            "cv_strata": "dataset",
        },
        **tokens,
    )


FORMAT = OutcomeFormat(
    name="routemoa_multiagent",
    description="routemoa_multiagent (long: columns system, dataset, item_id, is_correct, cost, question; one "
    "configuration per system)",
    recognise=lambda columns, folder, models: _REQUIRED <= set(columns),
    load=_load,
    priority=10,
)
