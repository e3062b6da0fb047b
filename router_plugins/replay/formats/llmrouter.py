"""llmrouter_nim9: LLMRouter's scores of 9 NVIDIA NIM models (``task_name`` / ``question`` / ``split``, one column per
model; prices and descriptions from ``llm_candidates.json`` beside the CSV), cost estimated from tokens × prices."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from router_plugins.errors import DataError
from router_plugins.replay._table import OutcomeTable
from router_plugins.replay.formats import _columns as col
from router_plugins.replay.formats._registry import LoadOptions, OutcomeFormat, Prices

#: Output tokens assumed per llmrouter_nim9 task (no tokens are recorded): multiple-choice ≈ a few tokens, math word
#: problems ≈ 200 (chain of thought), code ≈ 150, CommonGen sentences ≈ 40, short-answer QA ≈ 20. Rows labelled
#: ``a|b`` use the first task's value; unknown tasks use ``DEFAULT_OUTPUT_TOKENS``.
LLMROUTER_OUTPUT_TOKENS: dict[str, int] = {
    "agentverse-logicgrid": 5,
    "arc_challenge": 5,
    "commonsense_qa": 5,
    "gpqa": 5,
    "mmlu": 5,
    "openbook_qa": 5,
    "agentverse-mgsm": 200,
    "gsm8k": 200,
    "math": 200,
    "human_eval": 150,
    "mbpp": 150,
    "commongen": 40,
    "natural_qa": 20,
    "trivia_qa": 20,
}
_LLMROUTER_META = {"split", "row_idx", "task_name", "query_file_split", "question", "cluster_id"}


def _load(files: Sequence[Path], options: LoadOptions) -> OutcomeTable:
    (p,) = files
    name, prices = options.name, options.prices
    df = col.read_csv(p)
    model_cols = [str(c) for c in df.columns if c not in _LLMROUTER_META]
    cards: dict[str, Any] = {}
    cand = p.parent / "llm_candidates.json"
    if cand.is_file():
        try:
            cards = json.loads(cand.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{cand}: not valid JSON ({exc})") from exc
    card_prices: Prices = {
        k: (float(v["input_price"]), float(v["output_price"]))
        for k, v in cards.items()
        if isinstance(v, dict) and "input_price" in v and "output_price" in v
    }
    all_prices = {**card_prices, **prices}
    descriptions = {
        k: f"{v.get('feature', '').strip()} (size: {v['size']})" if "size" in v else str(v.get("feature", ""))
        for k, v in cards.items()
        if isinstance(v, dict) and k in model_cols
    }
    texts = col.texts(df["question"], p)
    tasks = df["task_name"].fillna("default").astype(str).to_numpy()
    m = len(model_cols)
    tin = col.text_tokens(texts, m)
    tout = col.task_tokens(tasks, LLMROUTER_OUTPUT_TOKENS, m)
    cost = col.price_cost(model_cols, all_prices, tin, tout)
    return col.build(
        p,
        name=name,
        texts=texts,
        tasks=tasks,
        splits=df["split"].astype(str).to_numpy(),
        models=tuple(model_cols),
        quality=col.scores(df, model_cols, p),
        cost=cost,
        cost_estimated=cost is not None,
        clusters=col.clusters(df),
        metric="task metric in [0, 1] (em_mc, GSM8K/MATH answer match, code_eval, F1, CommonGen coverage)",
        prices={k: v for k, v in all_prices.items() if k in model_cols},
        descriptions=descriptions,
        meta={
            "source": name,
            "format": "llmrouter_nim9",
            "file": str(p),
            "cost_note": (
                "estimated: question chars/4 input tokens, LLMROUTER_OUTPUT_TOKENS per task, × llm_candidates.json "
                "prices (USD/1M)"
                if cost is not None
                else f"no cost: no prices for {col.missing_prices(model_cols, all_prices)}"
            ),
            "tokens_note": "estimated (see cost_note)",
            "sizes": {k: str(v.get("size")) for k, v in cards.items() if isinstance(v, dict) and k in model_cols},
            "api_ids": {k: str(v.get("model")) for k, v in cards.items() if isinstance(v, dict) and k in model_cols},
        },
        input_tokens=tin,
        output_tokens=tout,
    )


def _recognise(columns: Sequence[str], folder: Path, models: Sequence[str] | None) -> bool:
    cols = set(columns)
    return {"task_name", "question", "split"} <= cols and (
        "query_file_split" in cols or (folder / "llm_candidates.json").is_file()
    )


FORMAT = OutcomeFormat(
    name="llmrouter_nim9",
    description="llmrouter_nim9 (columns task_name, question, split and query_file_split or an llm_candidates.json "
    "beside the CSV)",
    recognise=_recognise,
    load=_load,
    priority=30,
)
