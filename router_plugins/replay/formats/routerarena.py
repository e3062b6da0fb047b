"""routerarena_sub10: RouterArena's long table (one row per query × model with ``global_index``, ``model``,
``score``, ``inference_cost_usd``, tokens and the answer; prices from ``model_cost.json``), split by dataset family."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from router_plugins.errors import DataError
from router_plugins.replay._splits import train_fraction_split
from router_plugins.replay._table import DEFAULT_OUTPUT_TOKENS, OutcomeTable
from router_plugins.replay.formats import _columns as col
from router_plugins.replay.formats._registry import LoadOptions, OutcomeFormat, Prices


def _load(files: Sequence[Path], options: LoadOptions) -> OutcomeTable:
    import pandas as pd

    (p,) = files
    name, prices = options.name, options.prices
    df = col.read_csv(p)
    if df.duplicated(["global_index", "model"]).any():
        raise DataError(f"{p}: duplicate (global_index, model) rows")
    ok = df["success"].astype(bool) if "success" in df.columns else pd.Series(True, index=df.index)
    score = pd.to_numeric(df["score"], errors="coerce").where(ok)
    n_neg = int((score < 0).sum())
    df = df.assign(score=score.clip(lower=0.0, upper=1.0))
    order = pd.unique(df["global_index"])
    model_cols = [str(x) for x in pd.unique(df["model"])]

    def wide(column: str) -> pd.DataFrame:
        return df.pivot(index="global_index", columns="model", values=column).reindex(index=order, columns=model_cols)

    first = df.drop_duplicates("global_index").set_index("global_index").reindex(order)
    texts = col.texts(first["question"], p)
    datasets = first["dataset"].astype(str).to_numpy()
    families = [d.split("_")[0] for d in datasets]
    quality = wide("score").to_numpy(dtype=np.float64)
    cost = wide("inference_cost_usd").to_numpy(dtype=np.float64)
    col.check_cost(cost, p)
    responses = wide("generated_answer").to_numpy(dtype=object)
    responses = np.where(pd.isna(responses), None, responses).astype(object)
    tin_f = wide("input_tokens").to_numpy(dtype=np.float64)
    tout_f = wide("output_tokens").to_numpy(dtype=np.float64)
    tin = np.where(np.isnan(tin_f), col.text_tokens(texts, len(model_cols)), tin_f).astype(np.int64)
    tout = np.where(np.isnan(tout_f), DEFAULT_OUTPUT_TOKENS, tout_f).astype(np.int64)
    file_prices: Prices = {}
    cost_file = p.parent / "model_cost.json"
    if cost_file.is_file():
        try:
            table = json.loads(cost_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{cost_file}: not valid JSON ({exc})") from exc
        for k, v in table.items():
            if k in model_cols and isinstance(v, dict):
                file_prices[k] = (
                    float(v["input_token_price_per_million"]),
                    float(v["output_token_price_per_million"]),
                )
    return col.build(
        p,
        name=name,
        texts=texts,
        tasks=datasets,
        splits=train_fraction_split(families),
        models=tuple(model_cols),
        quality=quality,
        cost=cost,
        cost_estimated=False,
        responses=responses,
        metric="RouterArena per-dataset metric in [0, 1] (mcq_accuracy, exact_match, meteor_score, code_accuracy, ...)",
        prices={**file_prices, **prices},
        meta={
            "source": name,
            "format": "routerarena_sub10",
            "file": str(p),
            "cost_note": "recorded inference_cost_usd (RouterArena: recorded tokens × model_cost.json prices, USD)",
            "tokens_note": "recorded input_tokens / output_tokens",
            "split_note": "grouped by dataset family (prefix of `dataset` before '_'): train where sha1(family) % 10 "
            "< 7, else test, so whole families are held out",
            "clipped_negative_scores": n_neg,
        },
        input_tokens=tin,
        output_tokens=tout,
    )


FORMAT = OutcomeFormat(
    name="routerarena_sub10",
    description="routerarena_sub10 (long: columns global_index, model, score, inference_cost_usd, question)",
    recognise=lambda columns, folder, models: {"global_index", "model", "score", "inference_cost_usd",
                                                "question"} <= set(columns),
    load=_load,
    priority=30,
)
