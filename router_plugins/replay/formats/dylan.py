"""dylan_multiagent_mmlu: DyLAN teams of 2, 3, 4 and 7 agents on the same MMLU questions, one row per question ×
team size (``subject``, ``q_pos``, ``n_agents``, ``correct``, ``n_llm_responses``).

The table has one row per question and one "model" column per configuration (``n_agents=2`` … ``n_agents=7``);
cost is the number of LLM calls the team made on the question. The records hold no question text, so a row's text is
its subject ("MMLU abstract algebra") and its task ``mmlu/<subject>``: a router can learn per subject, not per
question. The data records no split (``eval`` cross-validates, stratified by subject).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import DataError
from router_plugins.replay._table import NO_SPLIT, OutcomeTable
from router_plugins.replay.formats import _columns as col
from router_plugins.replay.formats._registry import LoadOptions, OutcomeFormat

if TYPE_CHECKING:
    import pandas as pd

_REQUIRED = {"subject", "q_pos", "n_agents", "correct"}
#: Per-file totals beside the outcome CSV: DyLAN's own call count per source file, used where the per-question count
#: is missing (the source JSON of that file was misaligned).
AGGREGATES_FILE = "dylan_mmlu_file_aggregates.csv"


def config_name(n_agents: int) -> str:
    """The column name of a team size."""
    return f"n_agents={n_agents}"


def _file_means(folder: Path, frame: pd.DataFrame) -> NDArray[np.float64]:
    """Per row, the recorded calls per question of the source file it came from (NaN where no aggregate matches)."""
    out = np.full(len(frame), np.nan)
    agg_path = folder / AGGREGATES_FILE
    if not agg_path.is_file():
        return out
    agg = col.read_csv(agg_path)
    need = {"subject", "chunk_start", "n_agents", "n_questions", "resp_cnt_total_txt"}
    if not need <= set(agg.columns):
        raise DataError(f"{agg_path}: expected columns {sorted(need)}")
    subjects = frame["subject"].astype(str).to_numpy()
    teams = frame["n_agents"].to_numpy()
    pos = frame["q_pos"].to_numpy()
    for row in agg.itertuples(index=False):
        if not (row.n_questions and row.n_questions > 0):
            continue
        hit = (subjects == str(row.subject)) & (teams == row.n_agents) & (pos >= row.chunk_start) & (
            pos < row.chunk_start + row.n_questions)
        out[hit] = float(row.resp_cnt_total_txt) / float(row.n_questions)
    return out


def _load(files: Sequence[Path], options: LoadOptions) -> OutcomeTable:
    import pandas as pd

    (p,) = files
    df = col.read_csv(p)
    if df.duplicated(["subject", "q_pos", "n_agents"]).any():
        raise DataError(f"{p}: duplicate (subject, q_pos, n_agents) rows")
    try:
        teams = sorted({int(t) for t in df["n_agents"].tolist()})
    except (TypeError, ValueError) as exc:
        raise DataError(f"{p}: column 'n_agents' must hold whole numbers ({exc})") from exc
    df = df.assign(n_agents=df["n_agents"].astype(int), _correct=col.scores(df, ["correct"], p)[:, 0])
    calls = (pd.to_numeric(df["n_llm_responses"], errors="coerce") if "n_llm_responses" in df.columns
             else pd.Series(np.nan, index=df.index))
    per_file = _file_means(p.parent, df)
    df = df.assign(_calls=calls.where(calls.notna(), per_file))
    n_file = int((calls.isna() & np.isfinite(per_file)).sum())
    # Still missing (no aggregate for that file): the configuration's mean over recorded questions.
    config_mean = df.groupby("n_agents")["_calls"].transform("mean")
    n_mean = int(df["_calls"].isna().sum())
    df["_calls"] = df["_calls"].fillna(config_mean)

    keys = df[["subject", "q_pos"]].drop_duplicates().sort_values(["subject", "q_pos"], kind="stable")
    index = pd.MultiIndex.from_frame(keys)
    names = [config_name(t) for t in teams]

    def wide(column: str) -> NDArray[np.float64]:
        table = df.pivot(index=["subject", "q_pos"], columns="n_agents", values=column)
        return table.reindex(index=index, columns=teams).to_numpy(dtype=np.float64)

    quality, cost = wide("_correct"), wide("_calls")
    col.check_cost(cost, p)
    subjects = keys["subject"].astype(str).tolist()
    return col.build(
        p,
        name=options.name,
        texts=tuple(f"MMLU {s.replace('_', ' ')}" for s in subjects),
        tasks=np.array([f"mmlu/{s}" for s in subjects]),
        splits=np.full(len(keys), NO_SPLIT),
        models=tuple(names),
        quality=quality,
        cost=cost,
        cost_unit="LLM calls",
        metric="accuracy (0/1, DyLAN's answer check)",
        meta={
            "source": options.name,
            "format": "dylan_multiagent_mmlu",
            "file": str(p),
            "configurations": "DyLAN teams of n most important of 7 agents (gpt-3.5-turbo, 3 rounds, early stopping)",
            "cost_note": "recorded LLM calls per question (n_llm_responses); where missing, the source file's calls "
            f"per question from {AGGREGATES_FILE} ({n_file} cells) or the configuration's mean ({n_mean} cells)",
            "text_note": "no question text is recorded: the text is the subject, so routers learn per subject",
            "cv_strata": "subject",
        },
    )


FORMAT = OutcomeFormat(
    name="dylan_multiagent_mmlu",
    description="dylan_multiagent_mmlu (long: columns subject, q_pos, n_agents, correct[, n_llm_responses]; one "
    "configuration per team size)",
    recognise=lambda columns, folder, models: _REQUIRED <= set(columns),
    load=_load,
    priority=10,
)
