"""routerdc_7llm: RouterDC's scores of 7 open 7B/8B models on 8 tasks (one row per query, one column per model,
``task`` / ``split`` / ``score_type`` / ``question``); no cost is recorded (estimated only when ``prices=`` is
given)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from router_plugins.errors import DataError
from router_plugins.replay._table import OutcomeTable
from router_plugins.replay.formats import _columns as col
from router_plugins.replay.formats._registry import LoadOptions, OutcomeFormat

#: Output tokens per routerdc_7llm task, used only when ``prices=`` is given (the data has no cost): log-likelihood
#: multiple-choice tasks generate ≈ 1 token; GSM8K ≈ 200; code ≈ 150 (one sample, although scores average 10 samples).
ROUTERDC_OUTPUT_TOKENS: dict[str, int] = {
    "mmlu": 1,
    "cmmlu": 1,
    "arc_challenge": 1,
    "arc_easy": 1,
    "gsm8k": 200,
    "humaneval": 150,
    "mbpp": 150,
    "humaneval_js": 150,
}
_ROUTERDC_META = {"task", "split", "score_type", "source_file", "row_idx", "question", "cluster_id"}


def _load(files: Sequence[Path], options: LoadOptions) -> OutcomeTable:
    (p,) = files
    name, prices = options.name, options.prices
    df = col.read_csv(p)
    model_cols = [str(c) for c in df.columns if c not in _ROUTERDC_META]
    if not model_cols:
        raise DataError(f"{p}: routerdc_7llm layout without model columns")
    raw = col.scores(df, model_cols, p)
    kinds = df["score_type"].astype(str).to_numpy()
    unknown = sorted(set(kinds) - {"mc_prob", "frac_of_10"})
    if unknown:
        raise DataError(f"{p}: unknown score_type {unknown}; expected 'mc_prob' or 'frac_of_10'")
    # mc_prob: probability of the gold option when the model's argmax was right, exactly 0 when wrong → 1/0 accuracy.
    # frac_of_10: fraction of 10 sampled generations that were correct → already the expected accuracy.
    mc = (kinds == "mc_prob")[:, None]
    quality = np.where(mc, np.where(np.isnan(raw), np.nan, (raw > 0).astype(np.float64)), raw)
    texts = col.texts(df["question"], p)
    tasks = df["task"].astype(str).to_numpy()
    m = quality.shape[1]
    tin = col.text_tokens(texts, m)
    tout = col.task_tokens(tasks, ROUTERDC_OUTPUT_TOKENS, m)
    col.require_prices(model_cols, prices, p)
    cost = col.price_cost(model_cols, prices, tin, tout) if prices else None
    if cost is not None:
        cost_note = "estimated: prompt chars/4 input tokens, ROUTERDC_OUTPUT_TOKENS per task, × the given prices"
    else:
        cost_note = "no cost recorded (open 7B/8B models run locally); pass prices= to estimate"
    return col.build(
        p,
        name=name,
        texts=texts,
        tasks=tasks,
        splits=df["split"].astype(str).to_numpy(),
        models=tuple(model_cols),
        quality=quality,
        cost=cost,
        cost_estimated=cost is not None,
        clusters=col.clusters(df),
        metric="mc_prob tasks: accuracy (score > 0); frac_of_10 tasks: pass rate over 10 samples",
        prices=prices,
        meta={
            "source": name,
            "format": "routerdc_7llm",
            "file": str(p),
            "cost_note": cost_note,
            "tokens_note": "estimated: input = question chars/4, output = ROUTERDC_OUTPUT_TOKENS per task",
        },
        input_tokens=tin,
        output_tokens=tout,
    )


FORMAT = OutcomeFormat(
    name="routerdc_7llm",
    description="routerdc_7llm (columns task, split, score_type, question, one score column per model)",
    recognise=lambda columns, folder, models: {"task", "split", "score_type", "question"} <= set(columns),
    load=_load,
    priority=30,
)
