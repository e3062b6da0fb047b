"""Read recorded per-query × per-model outcome data into an :class:`OutcomeTable` for replay, training and evaluation.

``load_outcomes(path)`` accepts

1. a RouterBench-style **wide CSV** (optionally ``.gz``): one row per query, a column ``<model>`` with the score of each
   model, ``<model>|total_cost`` with its recorded USD cost and optionally ``<model>|model_response``;
2. one of the folders in ``shared/data`` (or a copy under any name: folders are recognised by the columns of the CSV
   files they hold, not by their name): ``routerbench_via_routerdc``, ``routerdc_7llm``, ``routellm_gpt4_mixtral``,
   ``llmrouter_nim9``, ``routerarena_sub10`` — or the main CSV file of one of them.

Where a dataset does not record cost, cost is estimated as tokens × list prices and ``cost_estimated`` is set. Token
estimates use :func:`estimate_tokens` (about 4 characters per token) plus the per-dataset output-length tables below.
pandas is imported inside the functions so that ``import router_plugins`` stays light.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import DataError
from router_plugins.outcome_table import OutcomeTable
from router_plugins._tokens import estimate_tokens

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_OUTPUT_TOKENS",
    "LLMROUTER_OUTPUT_TOKENS",
    "ROUTELLM_MMLU_FEWSHOT_TOKENS",
    "ROUTELLM_MMLU_OUTPUT_TOKENS",
    "ROUTELLM_PRICES",
    "ROUTERDC_OUTPUT_TOKENS",
    "estimate_tokens",
    "load_outcomes",
    "train_fraction_split",
]

Prices = dict[str, tuple[float, float]]

ACCEPTED_FORMATS = (
    "a wide CSV (.csv or .csv.gz) with one column per model holding its score in [0, 1], '<model>|total_cost' "
    "columns (or models=[...] naming the score columns) and a 'prompt'/'question'/'query'/'text' column; or a folder "
    "(or its main CSV) in one of the layouts routerbench_via_routerdc, routerdc_7llm, routellm_gpt4_mixtral, "
    "llmrouter_nim9, routerarena_sub10 (see shared/data/*/DATASHEET.md)"
)

# --- documented estimates -----------------------------------------------------------------------------------------

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
#: Output tokens assumed when nothing better is known (no response text, unknown task).
DEFAULT_OUTPUT_TOKENS = 50

_TEXT_COLUMNS = ("prompt", "question", "query", "text")
_TASK_COLUMNS = ("eval_name", "task", "task_name")
_COST_SUFFIX = "|total_cost"
_RESPONSE_SUFFIX = "|model_response"

# Kinds a CSV can be recognised as.
_WIDE, _ROUTERDC, _ROUTELLM, _LLMROUTER, _ARENA, _MULTIAGENT = (
    "wide", "routerdc_7llm", "routellm_gpt4_mixtral", "llmrouter_nim9", "routerarena_sub10", "multi-agent",
)


# --- public entry points ------------------------------------------------------------------------------------------


def load_outcomes(
    path: str | Path,
    *,
    prices: Prices | None = None,
    models: Sequence[str] | None = None,
) -> OutcomeTable:
    """Load a wide outcome CSV or a shared/data folder (or its main CSV) as an OutcomeTable.

    ``prices`` (model → USD per 1M input/output tokens) override/extend the dataset's prices and are used to estimate
    cost where none is recorded (recorded costs are never replaced). ``models`` names the score columns of a wide CSV
    that has no ``<model>|total_cost`` columns.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file or folder; expected {ACCEPTED_FORMATS}")
    if p.is_dir():
        kind, files = _classify_folder(p, models)
        name = p.name
    else:
        kind = _classify_file(p, models)
        if kind is None:
            raise DataError(f"{p}: not a recognised outcome file; expected {ACCEPTED_FORMATS}")
        files = [p]
        name = _stem(p)
    if kind == _MULTIAGENT:
        raise DataError(
            f"{p}: multi-agent configuration outcomes (one row per item × multi-agent configuration), not per-query × "
            "per-model outcome data; load_outcomes reads per-model data only"
        )
    prices = dict(prices or {})
    try:
        if kind == _WIDE:
            return _load_wide(_single(files, kind, p), name=name, prices=prices, models=models)
        if kind == _ROUTERDC:
            return _load_routerdc(_single(files, kind, p), name=name, prices=prices)
        if kind == _ROUTELLM:
            return _load_routellm(files, name=name, prices=prices)
        if kind == _LLMROUTER:
            return _load_llmrouter(_single(files, kind, p), name=name, prices=prices)
        return _load_arena(_single(files, kind, p), name=name, prices=prices)
    except DataError:
        raise
    except (ValueError, KeyError, TypeError, OSError, EOFError) as exc:  # pandas / gzip / json parse errors
        raise DataError(f"{p}: cannot be read as {kind} outcome data ({type(exc).__name__}: {exc})") from exc


def train_fraction_split(keys: Sequence[str], train_tenths: int = 7) -> NDArray[np.str_]:
    """Deterministic split: ``train`` where ``sha1(key) % 10 < train_tenths``, else ``test`` (stable across runs)."""
    out = np.empty(len(keys), dtype=object)
    for i, key in enumerate(keys):
        out[i] = "train" if int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % 10 < train_tenths else "test"
    return out.astype(str)


# --- format detection ---------------------------------------------------------------------------------------------


def _stem(p: Path) -> str:
    name = p.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return name


def _is_csv(p: Path) -> bool:
    return p.is_file() and (p.name.endswith(".csv") or p.name.endswith(".csv.gz"))


def _header(p: Path) -> list[str]:
    import pandas as pd

    try:
        return [str(c) for c in pd.read_csv(p, nrows=0).columns]
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a CSV we can read"
        raise DataError(
            f"{p}: cannot be parsed as CSV ({type(exc).__name__}: {exc}); expected {ACCEPTED_FORMATS}"
        ) from exc


def _wide_models(columns: Sequence[str]) -> list[str]:
    present = set(columns)
    return [c for c in columns if f"{c}{_COST_SUFFIX}" in present]


def _classify_columns(columns: Sequence[str], models: Sequence[str] | None, folder: Path) -> str | None:
    cols = set(columns)
    if {"n_agents", "correct"} <= cols or {"system", "models_called"} <= cols:
        return _MULTIAGENT
    if _wide_models(columns):
        return _WIDE
    if {"global_index", "model", "score", "inference_cost_usd", "question"} <= cols:
        return _ARENA
    if {"task", "split", "score_type", "question"} <= cols:
        return _ROUTERDC
    if "contaminated_in_routellm_train" in cols and "prompt" in cols:
        return _ROUTELLM
    if {"task_name", "question", "split"} <= cols and (
        "query_file_split" in cols or (folder / "llm_candidates.json").is_file()
    ):
        return _LLMROUTER
    if models and set(models) <= cols and cols & set(_TEXT_COLUMNS):
        return _WIDE
    return None


def _classify_file(p: Path, models: Sequence[str] | None) -> str | None:
    if not _is_csv(p):
        raise DataError(f"{p}: not a .csv / .csv.gz file; expected {ACCEPTED_FORMATS}")
    return _classify_columns(_header(p), models, p.parent)


def _classify_folder(p: Path, models: Sequence[str] | None) -> tuple[str, list[Path]]:
    csvs = sorted(f for f in p.iterdir() if _is_csv(f))
    kinds: dict[str, list[Path]] = {}
    for f in csvs:
        kind = _classify_columns(_header(f), models, p)
        if kind is not None:
            kinds.setdefault(kind, []).append(f)
    if not kinds and any(f.name.startswith("config_") and f.suffix == ".json" for f in p.iterdir()):
        kinds[_MULTIAGENT] = []
    if not kinds:
        found = ", ".join(f.name for f in csvs) or "no CSV files"
        raise DataError(f"{p}: no recognised outcome CSV in this folder ({found}); expected {ACCEPTED_FORMATS}")
    if len(kinds) > 1:
        listing = "; ".join(f"{k}: {', '.join(f.name for f in fs)}" for k, fs in sorted(kinds.items()))
        raise DataError(f"{p}: the folder mixes several outcome formats ({listing}); pass one file instead")
    ((kind, files),) = kinds.items()
    return kind, files


def _single(files: list[Path], kind: str, p: Path) -> Path:
    if len(files) != 1:
        raise DataError(f"{p}: found {len(files)} {kind} CSV files ({', '.join(f.name for f in files)}); pass one file")
    return files[0]


# --- shared column helpers ----------------------------------------------------------------------------------------


def _unlist(value: object) -> object:
    """A string holding a Python list literal of strings (RouterBench style) → the strings joined by newlines."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            return "\n".join(parsed)
    return value


def _texts(series: pd.Series, where: Path) -> tuple[str, ...]:
    if series.isna().any():
        raise DataError(f"{where}: column {series.name!r} has {int(series.isna().sum())} empty query texts")
    return tuple(str(_unlist(v)) for v in series.tolist())


def _scores(frame: pd.DataFrame, columns: Sequence[str], where: Path) -> NDArray[np.float64]:
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


def _clusters(frame: pd.DataFrame) -> NDArray[np.int64] | None:
    if "cluster_id" not in frame.columns:
        return None
    return frame["cluster_id"].fillna(-1).to_numpy(dtype=np.float64).astype(np.int64)


def _token_counts(lengths: NDArray[Any]) -> NDArray[np.int64]:
    """Vectorised :func:`estimate_tokens` over character counts."""
    return np.maximum(1, (np.asarray(lengths, dtype=np.int64) + 3) // 4)


def _text_tokens(texts: Sequence[str], m: int, extra: NDArray[np.int64] | int = 0) -> NDArray[np.int64]:
    tok = _token_counts(np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))) + extra
    return np.repeat(tok[:, None], m, axis=1)


def _task_tokens(tasks: Sequence[str], table: dict[str, int], m: int) -> NDArray[np.int64]:
    """Output tokens per row from a per-task table (``a|b`` rows use task a), repeated for the m models."""
    per_row = np.array([table.get(str(t).split("|")[0], DEFAULT_OUTPUT_TOKENS) for t in tasks], dtype=np.int64)
    return np.repeat(per_row[:, None], m, axis=1)


def _response_tokens(responses: NDArray[np.object_], fallback: NDArray[np.int64]) -> NDArray[np.int64]:
    lengths = np.vectorize(lambda r: len(r) if isinstance(r, str) else -1, otypes=[np.int64])(responses)
    return np.where(lengths >= 0, _token_counts(np.maximum(lengths, 0)), fallback)


def _price_cost(
    models: Sequence[str], prices: Prices, tin: NDArray[np.int64], tout: NDArray[np.int64]
) -> NDArray[np.float64] | None:
    """USD cost = (input tokens × input price + output tokens × output price) / 1e6; None if a model has no price."""
    if not all(m in prices for m in models):
        return None
    pin = np.array([prices[m][0] for m in models], dtype=np.float64)
    pout = np.array([prices[m][1] for m in models], dtype=np.float64)
    return (tin * pin + tout * pout) / 1e6


def _missing_prices(models: Sequence[str], prices: Prices) -> list[str]:
    return [m for m in models if m not in prices]


def _require_prices(models: Sequence[str], prices: Prices, where: Path) -> None:
    """When prices are the only source of cost, a partial price list is a mistake: say which models lack one."""
    missing = _missing_prices(models, prices)
    if prices and missing:
        raise DataError(f"{where}: prices= has no price for {missing}; give (input, output) USD per 1M for every model")


def _build(where: Path, **kwargs: Any) -> OutcomeTable:
    try:
        return OutcomeTable(**kwargs)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from exc


def _check_cost(cost: NDArray[np.float64], where: Path) -> None:
    finite = cost[np.isfinite(cost)]
    if finite.size and finite.min() < 0:
        raise DataError(f"{where}: negative cost {finite.min()} in the cost columns")


# --- wide CSV (RouterBench style) ---------------------------------------------------------------------------------


def _load_wide(p: Path, *, name: str, prices: Prices, models: Sequence[str] | None) -> OutcomeTable:
    import pandas as pd

    df = pd.read_csv(p)
    cols = [str(c) for c in df.columns]
    model_cols = list(models) if models else _wide_models(cols)
    missing = [m for m in model_cols if m not in cols]
    if missing or not model_cols:
        raise DataError(f"{p}: model score columns {missing or model_cols} not found; columns are {cols[:20]}")
    text_col = next((c for c in _TEXT_COLUMNS if c in cols), None)
    if text_col is None:
        raise DataError(f"{p}: no query text column (one of {list(_TEXT_COLUMNS)}); expected {ACCEPTED_FORMATS}")
    task_col = next((c for c in _TASK_COLUMNS if c in cols), None)
    n, m = len(df), len(model_cols)
    texts = _texts(df[text_col], p)
    tasks = df[task_col].astype(str).to_numpy() if task_col else np.full(n, "default")
    splits = df["split"].astype(str).to_numpy() if "split" in cols else np.full(n, "test")
    quality = _scores(df, model_cols, p)

    responses: NDArray[np.object_] | None = None
    if any(f"{mo}{_RESPONSE_SUFFIX}" in cols for mo in model_cols):
        responses = np.full((n, m), None, dtype=object)
        for j, mo in enumerate(model_cols):
            rc = f"{mo}{_RESPONSE_SUFFIX}"
            if rc in cols:
                responses[:, j] = [None if not isinstance(v, str) else _unlist(v) for v in df[rc].tolist()]

    tin = _text_tokens(texts, m)
    tout = (
        _response_tokens(responses, np.full((n, m), DEFAULT_OUTPUT_TOKENS, dtype=np.int64))
        if responses is not None
        else np.full((n, m), DEFAULT_OUTPUT_TOKENS, dtype=np.int64)
    )
    cost_cols = [f"{mo}{_COST_SUFFIX}" for mo in model_cols]
    cost: NDArray[np.float64] | None
    if all(c in cols for c in cost_cols):
        cost = _scores(df, cost_cols, p)
        _check_cost(cost, p)
        estimated = False
        cost_note = "recorded per-query cost (the '<model>|total_cost' columns, USD)"
    else:
        _require_prices(model_cols, prices, p)
        cost = _price_cost(model_cols, prices, tin, tout) if prices else None
        estimated = cost is not None
        cost_note = (
            "estimated: tokens (chars/4; output from the response where present) × the given prices"
            if cost is not None
            else "no cost columns; pass prices= to estimate"
        )
    routerbench = "oracle_model_to_route_to" in cols
    return _build(
        p,
        name=name,
        texts=texts,
        tasks=tasks,
        splits=splits,
        models=tuple(model_cols),
        quality=quality,
        cost=cost,
        cost_estimated=estimated,
        responses=responses,
        clusters=_clusters(df),
        metric="accuracy (0/1, RouterBench grading)" if routerbench else "score",
        prices=prices,
        meta={
            "source": name,
            "format": "wide csv",
            "file": str(p),
            "cost_note": cost_note,
            "tokens_note": "estimated: input = prompt chars/4, output = response chars/4 "
            f"({DEFAULT_OUTPUT_TOKENS} where no response)",
        },
        input_tokens=tin,
        output_tokens=tout,
    )


# --- routerdc_7llm ------------------------------------------------------------------------------------------------

_ROUTERDC_META = {"task", "split", "score_type", "source_file", "row_idx", "question", "cluster_id"}


def _load_routerdc(p: Path, *, name: str, prices: Prices) -> OutcomeTable:
    import pandas as pd

    df = pd.read_csv(p)
    model_cols = [str(c) for c in df.columns if c not in _ROUTERDC_META]
    if not model_cols:
        raise DataError(f"{p}: routerdc_7llm layout without model columns")
    raw = _scores(df, model_cols, p)
    kinds = df["score_type"].astype(str).to_numpy()
    unknown = sorted(set(kinds) - {"mc_prob", "frac_of_10"})
    if unknown:
        raise DataError(f"{p}: unknown score_type {unknown}; expected 'mc_prob' or 'frac_of_10'")
    # mc_prob: probability of the gold option when the model's argmax was right, exactly 0 when wrong → 1/0 accuracy.
    # frac_of_10: fraction of 10 sampled generations that were correct → already the expected accuracy.
    mc = (kinds == "mc_prob")[:, None]
    quality = np.where(mc, np.where(np.isnan(raw), np.nan, (raw > 0).astype(np.float64)), raw)
    texts = _texts(df["question"], p)
    tasks = df["task"].astype(str).to_numpy()
    n, m = quality.shape
    tin = _text_tokens(texts, m)
    tout = _task_tokens(tasks, ROUTERDC_OUTPUT_TOKENS, m)
    _require_prices(model_cols, prices, p)
    cost = _price_cost(model_cols, prices, tin, tout) if prices else None
    if cost is not None:
        cost_note = "estimated: prompt chars/4 input tokens, ROUTERDC_OUTPUT_TOKENS per task, × the given prices"
    else:
        cost_note = "no cost recorded (open 7B/8B models run locally); pass prices= to estimate"
    return _build(
        p,
        name=name,
        texts=texts,
        tasks=tasks,
        splits=df["split"].astype(str).to_numpy(),
        models=tuple(model_cols),
        quality=quality,
        cost=cost,
        cost_estimated=cost is not None,
        clusters=_clusters(df),
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


# --- routellm_gpt4_mixtral ----------------------------------------------------------------------------------------

_ROUTELLM_META = {"subject", "row_idx", "prompt", "contaminated_in_routellm_train"}


def _load_routellm(files: list[Path], *, name: str, prices: Prices) -> OutcomeTable:
    import pandas as pd

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
        family = "mmlu" if "subject" in df.columns else ("gsm8k" if has_responses or "gsm8k" in f.name else _stem(f))
        contaminated = df["contaminated_in_routellm_train"].astype(bool)
        dropped[family] = dropped.get(family, 0) + int(contaminated.sum())
        task = "mmlu/" + df["subject"].astype(str) if family == "mmlu" else family
        frames.append(df.assign(_task=task)[~contaminated])
    if not model_cols:
        raise DataError(f"{where}: routellm layout without model columns")
    df = pd.concat(frames, ignore_index=True)
    n, m = len(df), len(model_cols)
    texts = _texts(df["prompt"], where)
    tasks = df["_task"].astype(str).to_numpy()
    quality = _scores(df, model_cols, where)

    responses: NDArray[np.object_] | None = None
    if any(f"{mo}_response" in df.columns for mo in model_cols):
        responses = np.full((n, m), None, dtype=object)
        for j, mo in enumerate(model_cols):
            if f"{mo}_response" in df.columns:
                responses[:, j] = [v if isinstance(v, str) else None for v in df[f"{mo}_response"].tolist()]

    is_mmlu = np.char.startswith(tasks.astype(str), "mmlu")
    tin = _text_tokens(texts, m, np.where(is_mmlu, ROUTELLM_MMLU_FEWSHOT_TOKENS, 0).astype(np.int64))
    fallback = np.full((n, m), ROUTELLM_MMLU_OUTPUT_TOKENS, dtype=np.int64)
    tout = fallback if responses is None else _response_tokens(responses, fallback)
    tout = np.where(is_mmlu[:, None], ROUTELLM_MMLU_OUTPUT_TOKENS, tout)
    all_prices = {**ROUTELLM_PRICES, **prices}
    cost = _price_cost(model_cols, all_prices, tin, tout)
    return _build(
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
                else f"no cost: no prices for {_missing_prices(model_cols, all_prices)}"
            ),
            "tokens_note": "estimated (see cost_note)",
            "split_note": "train where sha1(prompt) % 10 < 7, else test (DATASHEET suggestion)",
            "dropped_contaminated": dropped,
            "ignored": "MT-Bench judgements (1-10 judge scores of multi-turn chats, not per-query outcomes)",
        },
        input_tokens=tin,
        output_tokens=tout,
    )


# --- llmrouter_nim9 -----------------------------------------------------------------------------------------------

_LLMROUTER_META = {"split", "row_idx", "task_name", "query_file_split", "question", "cluster_id"}


def _load_llmrouter(p: Path, *, name: str, prices: Prices) -> OutcomeTable:
    import pandas as pd

    df = pd.read_csv(p)
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
    texts = _texts(df["question"], p)
    tasks = df["task_name"].fillna("default").astype(str).to_numpy()
    m = len(model_cols)
    tin = _text_tokens(texts, m)
    tout = _task_tokens(tasks, LLMROUTER_OUTPUT_TOKENS, m)
    cost = _price_cost(model_cols, all_prices, tin, tout)
    return _build(
        p,
        name=name,
        texts=texts,
        tasks=tasks,
        splits=df["split"].astype(str).to_numpy(),
        models=tuple(model_cols),
        quality=_scores(df, model_cols, p),
        cost=cost,
        cost_estimated=cost is not None,
        clusters=_clusters(df),
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
                else f"no cost: no prices for {_missing_prices(model_cols, all_prices)}"
            ),
            "tokens_note": "estimated (see cost_note)",
            "sizes": {k: str(v.get("size")) for k, v in cards.items() if isinstance(v, dict) and k in model_cols},
            "api_ids": {k: str(v.get("model")) for k, v in cards.items() if isinstance(v, dict) and k in model_cols},
        },
        input_tokens=tin,
        output_tokens=tout,
    )


# --- routerarena_sub10 --------------------------------------------------------------------------------------------


def _load_arena(p: Path, *, name: str, prices: Prices) -> OutcomeTable:
    import pandas as pd

    df = pd.read_csv(p)
    if df.duplicated(["global_index", "model"]).any():
        raise DataError(f"{p}: duplicate (global_index, model) rows")
    ok = df["success"].astype(bool) if "success" in df.columns else pd.Series(True, index=df.index)
    score = pd.to_numeric(df["score"], errors="coerce").where(ok)
    n_neg = int((score < 0).sum())
    df = df.assign(score=score.clip(lower=0.0, upper=1.0))
    order = pd.unique(df["global_index"])
    model_cols = [str(x) for x in pd.unique(df["model"])]

    def wide(col: str) -> pd.DataFrame:
        return df.pivot(index="global_index", columns="model", values=col).reindex(index=order, columns=model_cols)

    first = df.drop_duplicates("global_index").set_index("global_index").reindex(order)
    texts = _texts(first["question"], p)
    datasets = first["dataset"].astype(str).to_numpy()
    families = [d.split("_")[0] for d in datasets]
    quality = wide("score").to_numpy(dtype=np.float64)
    cost = wide("inference_cost_usd").to_numpy(dtype=np.float64)
    _check_cost(cost, p)
    responses = wide("generated_answer").to_numpy(dtype=object)
    responses = np.where(pd.isna(responses), None, responses).astype(object)
    tin_f = wide("input_tokens").to_numpy(dtype=np.float64)
    tout_f = wide("output_tokens").to_numpy(dtype=np.float64)
    tin = np.where(np.isnan(tin_f), _text_tokens(texts, len(model_cols)), tin_f).astype(np.int64)
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
    return _build(
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
