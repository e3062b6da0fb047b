"""Trained-judge escalation cascades replayed exactly from recorded answers (FrugalGPT-style): call a cheap model,
keep its answer when a judge trained on the train split's answers is confident enough, else call the next cheap model
(judged with the earlier answers in view) and finally the strongest train model.

The judge is injected: a :data:`JudgeFactory` fits one on (queries, responses, labels, earlier answers) and returns a
confidence function. ``router_plugins.scorer.response_judge.JudgeFitter`` is the trained one; this module never imports
the scorer, so a plain checkout without it runs post-generation replays without judge rows. Everything that is chosen
— which cheap models, in which order, at which thresholds — is chosen on **train** from out-of-fold confidences (a
judge scores only train rows it was not fitted on); the evaluated rows are scored by a judge fitted on all of train and
replayed, never looked at before.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from router_plugins.replay._table import OutcomeTable

__all__ = ["Confidence", "JudgeCascade", "JudgeFactory", "Replay", "judge_cascades", "judged_confidences",
           "replay_judge_cascade"]

#: A fitted judge: P(right) for each (query, response, earlier responses of the cascade).
Confidence = Callable[[Sequence[str], Sequence[str], Sequence[Sequence[str]]], NDArray[np.float64]]
#: Fits a judge of one model: (model name, queries, responses, labels in [0, 1], earlier responses) → Confidence.
JudgeFactory = Callable[[str, Sequence[str], Sequence[str], NDArray[np.float64], Sequence[Sequence[str]]], Confidence]
#: Out-of-fold folds on train; cheap models judged per task (best train quality first); thresholds per step.
FOLDS, MAX_JUDGED, N_THRESHOLDS = 4, 3, 16
#: A model is judged on a task only when at least this share of its train rows recorded a response.
MIN_ANSWERED = 0.8


@dataclass(frozen=True)
class JudgeCascade:
    """Cheap model columns in call order, the judge confidence at which each one's answer is kept, and the column
    that answers when none is kept (-1: the last cheap model's answer is always kept)."""

    chain: tuple[int, ...]
    thresholds: tuple[float, ...]
    final: int

    def describe(self, models: Sequence[str]) -> str:
        """``a (judge ≥0.62) → b (judge ≥0.5) → strong``, as :meth:`router_plugins.escalation.Escalation.describe`."""
        parts = [f"{models[j].split('/')[-1]} (judge ≥{t:.3g})" for j, t in zip(self.chain, self.thresholds)]
        return " → ".join([*parts, *([models[self.final].split("/")[-1]] if self.final >= 0 else [])])


def _text(value: object) -> str:
    """A recorded response as text (a missing one is empty: judged, never executed or parsed beyond features)."""
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _column(table: OutcomeTable, j: int) -> list[str]:
    assert table.responses is not None
    return [_text(v) for v in table.responses[:, j]]


def judged_confidences(factory: JudgeFactory, train: OutcomeTable, rows: OutcomeTable, chain: Sequence[int],
                       *, seed: int = 0, cache: dict[tuple[int, ...], tuple[NDArray[np.float64],
                                                                          NDArray[np.float64]]] | None = None
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Confidence in each step's answer given the earlier steps' answers: (n_train, k) out of fold on train, (n_rows,
    k) from judges fitted on all of train. A fold whose training labels are all one class gets their mean."""
    cache = {} if cache is None else cache
    q_train = [str(t) for t in train.texts]
    q_rows = [str(t) for t in rows.texts]
    fold = np.random.default_rng(seed).permutation(len(train)) % FOLDS
    out_train, out_rows = [], []
    for step in range(len(chain)):
        key = tuple(chain[: step + 1])
        if key not in cache:
            j = chain[step]
            r_train, r_rows = _column(train, j), _column(rows, j)
            e_train = [[_text(train.responses[i, p]) for p in chain[:step]] for i in range(len(train))]  # type: ignore[index]
            e_rows = [[_text(rows.responses[i, p]) for p in chain[:step]] for i in range(len(rows))]  # type: ignore[index]
            y = np.nan_to_num(train.quality[:, j])
            oof = np.empty(len(train))
            for k in range(FOLDS):
                fit, held = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
                oof[held] = _fit_predict(factory, train.models[j], fit, held, q_train, r_train, e_train, y,
                                         [q_train[i] for i in held], [r_train[i] for i in held],
                                         [e_train[i] for i in held])
            every = np.arange(len(train))
            cache[key] = (oof, _fit_predict(factory, train.models[j], every, None, q_train, r_train, e_train, y,
                                            q_rows, r_rows, e_rows))
        out_train.append(cache[key][0])
        out_rows.append(cache[key][1])
    return np.column_stack(out_train), np.column_stack(out_rows)


def _fit_predict(factory: JudgeFactory, model: str, fit: NDArray[np.int64], held: NDArray[np.int64] | None,
                 queries: list[str], responses: list[str], earlier: list[list[str]], y: NDArray[np.float64],
                 q_new: list[str], r_new: list[str], e_new: list[list[str]]) -> NDArray[np.float64]:
    """A judge fitted on the ``fit`` rows scoring the new rows (a constant where the labels hold one class only)."""
    labels = y[fit] >= 0.5
    if labels.all() or not labels.any():
        return np.full(len(q_new), float(labels.mean()) if len(labels) else 0.5)
    judge = factory(model, [queries[i] for i in fit], [responses[i] for i in fit], y[fit], [earlier[i] for i in fit])
    conf = np.asarray(judge(q_new, r_new, e_new), dtype=np.float64)
    if conf.shape != (len(q_new),) or not np.all((conf >= 0) & (conf <= 1)):
        raise ValueError(f"judge of {model!r} returned {conf.shape} confidences, expected {len(q_new)} in [0, 1]")
    return conf


def replay_judge_cascade(quality: NDArray[np.float64], cost: NDArray[np.float64], confidence: NDArray[np.float64],
                         cascade: JudgeCascade) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-row quality and cost of ``cascade`` from the table's (n, m) quality and cost and its (n, k) step
    confidences: every call made is paid; a kept answer stops the cascade."""
    n = len(quality)
    q_out, c_out = np.zeros(n), np.zeros(n)
    open_rows = np.ones(n, dtype=bool)
    q_all, c_all = np.nan_to_num(quality), np.nan_to_num(cost)
    last = len(cascade.chain) - 1
    for step, (j, t) in enumerate(zip(cascade.chain, cascade.thresholds)):
        c_out[open_rows] += c_all[open_rows, j]
        keep = open_rows & ((confidence[:, step] >= t) | (step == last and cascade.final < 0))
        q_out[keep] = q_all[keep, j]
        open_rows &= ~keep
    if cascade.final >= 0:
        q_out[open_rows] = q_all[open_rows, cascade.final]
        c_out[open_rows] += c_all[open_rows, cascade.final]
    return q_out, c_out


def _grid(confidence: NDArray[np.float64]) -> list[float]:
    """Candidate thresholds: observed out-of-fold train confidences at evenly spaced quantiles."""
    levels = np.linspace(0, 1, N_THRESHOLDS + 2)[1:-1]
    return sorted({float(x) for x in np.quantile(confidence, levels, method="inverted_cdf")})


#: Per-row (quality, cost) of one cascade on the evaluated rows, computed when asked (most candidates never are).
Replay = Callable[[], tuple[NDArray[np.float64], NDArray[np.float64]]]


def judge_cascades(factory: JudgeFactory, train: OutcomeTable, rows: OutcomeTable, cheap: Sequence[int], strong: int,
                   ) -> list[tuple[JudgeCascade, float, float, Replay]]:
    """Candidate cascades over the MAX_JUDGED cheap models of best train quality (one or two of them, cheapest first,
    then ``strong``; or two with the second always kept) as (cascade, train quality, train cost, its replay on
    ``rows``). Train figures use out-of-fold confidences; rows are replayed with judges fitted on all of train."""
    if train.responses is None or rows.responses is None or not len(train):
        return []
    cost_train = np.zeros_like(train.quality) if train.cost is None else train.cost
    cost_rows = np.zeros_like(rows.quality) if rows.cost is None else rows.cost
    answered = [j for j in cheap if np.mean([bool(_text(v)) for v in train.responses[:, j]]) >= MIN_ANSWERED]
    judged = sorted(answered, key=lambda j: -float(np.nanmean(train.quality[:, j])))[:MAX_JUDGED]
    judged.sort(key=lambda j: float(np.nanmean(cost_train[:, j])))
    cache: dict[tuple[int, ...], tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    out = []
    for chain in [(j,) for j in judged] + list(itertools.combinations(judged, 2)):
        conf_train, conf_rows = judged_confidences(factory, train, rows, chain, cache=cache)
        grids = [_grid(conf_train[:, s]) for s in range(len(chain))]
        options = [(t, strong) for t in itertools.product(*grids)]
        if len(chain) == 2:
            options += [((t, 0.0), -1) for t in grids[0]]
        for thresholds, final in options:
            cascade = JudgeCascade(tuple(chain), tuple(thresholds), final)
            q_tr, c_tr = replay_judge_cascade(train.quality, cost_train, conf_train, cascade)
            out.append((cascade, float(q_tr.mean()), float(c_tr.mean()),
                        functools.partial(replay_judge_cascade, rows.quality, cost_rows, conf_rows, cascade)))
    return out
