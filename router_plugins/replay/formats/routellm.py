"""routellm_gpt4_mixtral: RouteLLM's GPT-4 vs Mixtral outcomes on MMLU and GSM8K (one CSV per benchmark, loaded
together; rows marked ``contaminated_in_routellm_train`` dropped), cost estimated from tokens × list prices."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import DataError
from router_plugins.replay._splits import train_fraction_split
from router_plugins.replay._table import OutcomeTable
from router_plugins.replay.formats import _columns as col
from router_plugins.replay.formats._registry import LoadOptions, OutcomeFormat, Prices

#: List prices used for routellm_gpt4_mixtral (USD per 1M input / output tokens): OpenAI's gpt-4-1106-preview
#: (GPT-4 Turbo) list price, and $0.60 / $0.60 for Mixtral-8x7B-Instruct (about what hosted-inference providers charged
#: for it at the time). Pass ``prices=`` to ``load_outcomes`` to use others.
ROUTELLM_PRICES: Prices = {
    "gpt-4-1106-preview": (10.0, 30.0),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": (0.60, 0.60),
}
#: RouteLLM's MMLU generation prepended dev-set few-shot examples up to 1,536 tokens (DATASHEET); they are not stored,
#: so this upper bound is added to every MMLU prompt's input-token estimate.
ROUTELLM_MMLU_FEWSHOT_TOKENS = 1536
#: MMLU answers are a single letter; a small constant covers the letter plus formatting.
ROUTELLM_MMLU_OUTPUT_TOKENS = 5

_ROUTELLM_META = {"subject", "row_idx", "prompt", "contaminated_in_routellm_train"}


def _load(files: Sequence[Path], options: LoadOptions) -> OutcomeTable:
    import pandas as pd

    name, prices = options.name, options.prices
    where = files[0].parent if len(files) > 1 else files[0]
    frames: list[pd.DataFrame] = []
    model_cols: list[str] = []
    dropped: dict[str, int] = {}
    for f in files:
        df = pd.read_csv(f)
        cols = [str(c) for c in df.columns if c not in _ROUTELLM_META and not str(c).endswith("_response")]
        if not model_cols:
            model_cols = cols
        elif sorted(cols) != sorted(model_cols):
            raise DataError(f"{where}: {f.name} has models {cols}, other files have {model_cols}")
        # MMLU files carry the subject; the GSM8K file carries the responses instead.
        has_responses = any(str(c).endswith("_response") for c in df.columns)
        # MMLU rows are tasked "mmlu/<subject>": routers back off to "mmlu" where a subject is unknown to them.
        family = "mmlu" if "subject" in df.columns else ("gsm8k" if has_responses or "gsm8k" in f.name else col.stem(f))
        contaminated = df["contaminated_in_routellm_train"].astype(bool)
        dropped[family] = dropped.get(family, 0) + int(contaminated.sum())
        task = "mmlu/" + df["subject"].astype(str) if family == "mmlu" else family
        frames.append(df.assign(_task=task)[~contaminated])
    if not model_cols:
        raise DataError(f"{where}: routellm layout without model columns")
    df = pd.concat(frames, ignore_index=True)
    n, m = len(df), len(model_cols)
    texts = col.texts(df["prompt"], where)
    tasks = df["_task"].astype(str).to_numpy()
    quality = col.scores(df, model_cols, where)

    responses: NDArray[np.object_] | None = None
    if any(f"{mo}_response" in df.columns for mo in model_cols):
        responses = np.full((n, m), None, dtype=object)
        for j, mo in enumerate(model_cols):
            if f"{mo}_response" in df.columns:
                responses[:, j] = [v if isinstance(v, str) else None for v in df[f"{mo}_response"].tolist()]

    is_mmlu = np.char.startswith(tasks.astype(str), "mmlu")
    tin = col.text_tokens(texts, m, np.where(is_mmlu, ROUTELLM_MMLU_FEWSHOT_TOKENS, 0).astype(np.int64))
    fallback = np.full((n, m), ROUTELLM_MMLU_OUTPUT_TOKENS, dtype=np.int64)
    tout = fallback if responses is None else col.response_tokens(responses, fallback)
    tout = np.where(is_mmlu[:, None], ROUTELLM_MMLU_OUTPUT_TOKENS, tout)
    all_prices = {**ROUTELLM_PRICES, **prices}
    cost = col.price_cost(model_cols, all_prices, tin, tout)
    return col.build(
        where,
        name=name,
        texts=texts,
        tasks=tasks,
        splits=train_fraction_split(texts),
        models=tuple(model_cols),
        quality=quality,
        cost=cost,
        cost_estimated=cost is not None,
        responses=responses,
        metric="accuracy (0/1)",
        prices={k: v for k, v in all_prices.items() if k in model_cols},
        meta={
            "source": name,
            "format": "routellm_gpt4_mixtral",
            "files": [str(f) for f in files],
            "cost_note": (
                "estimated: (prompt chars/4 [+1536 few-shot tokens for MMLU]) input tokens and (response chars/4 for "
                f"GSM8K, {ROUTELLM_MMLU_OUTPUT_TOKENS} for MMLU) output tokens × list prices {all_prices} USD/1M"
                if cost is not None
                else f"no cost: no prices for {col.missing_prices(model_cols, all_prices)}"
            ),
            "tokens_note": "estimated (see cost_note)",
            "split_note": "train where sha1(prompt) % 10 < 7, else test (DATASHEET suggestion)",
            "dropped_contaminated": dropped,
            "ignored": "MT-Bench judgements (1-10 judge scores of multi-turn chats, not per-query outcomes)",
        },
        input_tokens=tin,
        output_tokens=tout,
    )


FORMAT = OutcomeFormat(
    name="routellm_gpt4_mixtral",
    description="routellm_gpt4_mixtral (columns prompt, contaminated_in_routellm_train, one score column per model)",
    recognise=lambda columns, folder, models: {"contaminated_in_routellm_train", "prompt"} <= set(columns),
    load=_load,
    many_files=True,
    priority=30,
)
