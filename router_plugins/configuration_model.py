"""Fitted quality and cost of team configurations (team size, MoA system …) from recorded configuration outcomes.

The planner's built-in priors for how a configuration changes quality and cost are set by hand (``modes.py``); where
data records whole configurations on the same items (DyLAN team sizes, MoA / SMoA / RouteMoA), this module replaces
them with a fitted model. Per configuration c and task t (the MMLU subject, the dataset):

    quality(c, t) = g_c + s(level_t, k_level) + s(gap_ct, k_gap)
    cost(c, t)    = h_c + s(cost_ct − h_c, k_cost)

where g_c / h_c are the configuration's mean quality / cost, level_t the task's mean quality over configurations minus
the overall mean, gap_ct what configuration c does on task t beyond its mean and the task's level, and s(x, k) shrinks
a mean of n rows by n / (n + k) (empirical Bayes). The pseudo-counts are chosen by inner cross-validation on the
training rows only: k_level and k_cost by squared error, k_gap by the quality that routing on the predictions reaches
(a finite k_gap must beat ignoring the task by a one-sided 95 % paired margin on held-out rows; k_gap = ∞ means "always the best
configuration"). Unknown tasks get the configuration's mean. Everything is numpy; the fitted model is plain JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import DataError

__all__ = ["PSEUDO_COUNTS", "ConfigurationModel", "fit_configurations", "out_of_fold"]

#: Pseudo-counts the inner cross-validation chooses from (∞ = ignore the task entirely).
PSEUDO_COUNTS: tuple[float, ...] = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, math.inf)
#: Inner folds used to choose the pseudo-counts on the training rows.
INNER_FOLDS = 3
#: Paired standard errors by which per-task switching must beat "always the best configuration" on inner folds.
SWITCH_Z = 1.645
#: Size limit of a saved model file: it is parsed as JSON, so a hostile file must not exhaust memory.
MAX_MODEL_BYTES = 5_000_000


def _shrink(total: NDArray[np.float64], count: NDArray[np.float64], k: float) -> NDArray[np.float64]:
    """Mean of ``count`` rows shrunk towards 0 with pseudo-count ``k`` (0 where nothing was recorded)."""
    if math.isinf(k):
        return np.zeros_like(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / (count + k)
    return np.where(count > 0, out, 0.0)


@dataclass(frozen=True)
class ConfigurationModel:
    """Predicted quality and cost per configuration and task (see the module docstring); ``cost_unit`` says what
    cost counts (USD, LLM calls)."""

    configurations: tuple[str, ...]
    mean_quality: tuple[float, ...]
    mean_cost: tuple[float, ...]
    task_quality: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    task_cost: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    cost_unit: str = "USD"
    pseudo_counts: Mapping[str, float] = field(default_factory=dict)
    n_rows: int = 0

    def __post_init__(self) -> None:
        m = len(self.configurations)
        if m == 0 or len(set(self.configurations)) != m:
            raise DataError("a configuration model needs distinct configuration names")
        for label, values in (("mean_quality", self.mean_quality), ("mean_cost", self.mean_cost),
                              *((f"task_quality[{t!r}]", v) for t, v in self.task_quality.items()),
                              *((f"task_cost[{t!r}]", v) for t, v in self.task_cost.items())):
            if len(values) != m or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in values):
                raise DataError(f"configuration model: {label} must hold {m} finite numbers")
        if any(not 0.0 <= q <= 1.0 for q in self.mean_quality) or any(c < 0 for c in self.mean_cost):
            raise DataError("configuration model: quality must lie in [0, 1] and cost be ≥ 0")

    def predict(self, task: str | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Predicted quality and cost of every configuration for one query of ``task`` (None or unknown: means)."""
        key = str(task) if task is not None else None
        q = np.asarray(self.task_quality.get(key, self.mean_quality) if key else self.mean_quality, dtype=np.float64)
        c = np.asarray(self.task_cost.get(key, self.mean_cost) if key else self.mean_cost, dtype=np.float64)
        return q, c

    def predict_rows(self, tasks: Sequence[str] | NDArray[np.str_]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(n, m) predicted quality and cost for the rows' tasks."""
        pairs = [self.predict(str(t)) for t in tasks]
        m = len(self.configurations)
        if not pairs:
            return np.zeros((0, m)), np.zeros((0, m))
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (``from_json`` reads it back)."""
        return {"format": "router-plugins configuration model", "version": 1,
                "configurations": list(self.configurations), "mean_quality": list(self.mean_quality),
                "mean_cost": list(self.mean_cost), "task_quality": {t: list(v) for t, v in self.task_quality.items()},
                "task_cost": {t: list(v) for t, v in self.task_cost.items()}, "cost_unit": self.cost_unit,
                "pseudo_counts": {k: (None if math.isinf(v) else v) for k, v in self.pseudo_counts.items()},
                "n_rows": self.n_rows}

    @classmethod
    def from_json(cls, data: Any) -> ConfigurationModel:
        """Validate and build a model from ``to_json``'s dict; anything else is a DataError naming the field."""
        if not isinstance(data, dict) or data.get("format") != "router-plugins configuration model":
            raise DataError("not a router-plugins configuration model (missing 'format'); fit one with "
                            "fit_configurations(table) and save it with save()")
        try:
            configurations = tuple(str(c) for c in data["configurations"])
            task_quality = {str(t): tuple(float(x) for x in v) for t, v in dict(data.get("task_quality", {})).items()}
            task_cost = {str(t): tuple(float(x) for x in v) for t, v in dict(data.get("task_cost", {})).items()}
            counts = {str(k): (math.inf if v is None else float(v)) for k, v in dict(data.get("pseudo_counts", {})).items()}
            return cls(configurations, tuple(float(x) for x in data["mean_quality"]),
                       tuple(float(x) for x in data["mean_cost"]), task_quality, task_cost,
                       str(data.get("cost_unit", "USD")), counts, int(data.get("n_rows", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"configuration model: malformed field ({type(exc).__name__}: {exc})") from None

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON."""
        out = Path(path)
        out.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        return out

    @classmethod
    def load(cls, path: str | Path) -> ConfigurationModel:
        """Read a model written by ``save`` (size-limited, validated: a DataError on anything else)."""
        p = Path(path)
        if not p.is_file():
            raise DataError(f"{p}: no configuration model file there")
        if p.stat().st_size > MAX_MODEL_BYTES:
            raise DataError(f"{p}: {p.stat().st_size:,} bytes, over the {MAX_MODEL_BYTES:,}-byte limit of a model file")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise DataError(f"{p}: not valid JSON ({type(exc).__name__})") from None
        return cls.from_json(data)


def _fit_fixed(tasks: NDArray[np.str_], quality: NDArray[np.float64], cost: NDArray[np.float64] | None,
               k_level: float, k_gap: float, k_cost: float) -> tuple[list[str], NDArray, NDArray, NDArray, NDArray]:
    """Configuration means and per-task predictions for given pseudo-counts."""
    names, inv = np.unique(tasks.astype(str), return_inverse=True)
    t, m = len(names), quality.shape[1]
    ok = np.isfinite(quality)
    qz = np.where(ok, quality, 0.0)
    g = qz.sum(0) / np.maximum(ok.sum(0), 1)
    tot = np.zeros((t, m))
    cnt = np.zeros((t, m))
    np.add.at(tot, inv, qz)
    np.add.at(cnt, inv, ok.astype(np.float64))
    # level: the task's mean over its recorded cells minus the overall mean (configuration means removed first)
    resid_level = tot - cnt * g[None, :]
    level = _shrink(resid_level.sum(1), cnt.sum(1), k_level)
    if cnt.sum() > 0:  # shrinking moves the row-weighted mean level off 0; re-centre so configuration means hold
        level = np.where(cnt.sum(1) > 0, level - float((level * cnt.sum(1)).sum() / cnt.sum()), 0.0)
    gap = _shrink(resid_level - cnt * level[:, None], cnt, k_gap)
    task_q = np.clip(g[None, :] + level[:, None] + gap, 0.0, 1.0)
    if cost is None:
        return names.tolist(), g, task_q, np.zeros(m), np.zeros((t, m))
    okc = np.isfinite(cost)
    cz = np.where(okc, cost, 0.0)
    h = cz.sum(0) / np.maximum(okc.sum(0), 1)
    ctot = np.zeros((t, m))
    ccnt = np.zeros((t, m))
    np.add.at(ctot, inv, cz - h[None, :] * okc)
    np.add.at(ccnt, inv, okc.astype(np.float64))
    task_c = np.maximum(h[None, :] + _shrink(ctot, ccnt, k_cost), 0.0)
    return names.tolist(), g, task_q, h, task_c


def _predict_with(names: list[str], g: NDArray, task_q: NDArray, h: NDArray, task_c: NDArray,
                  tasks: NDArray[np.str_]) -> tuple[NDArray, NDArray]:
    index = {n: i for i, n in enumerate(names)}
    rows = np.array([index.get(str(x), -1) for x in tasks])
    known = rows >= 0
    q = np.where(known[:, None], task_q[np.maximum(rows, 0)], g[None, :])
    c = np.where(known[:, None], task_c[np.maximum(rows, 0)], h[None, :])
    return q, c


def _inner_choice(tasks: NDArray[np.str_], quality: NDArray[np.float64], cost: NDArray[np.float64] | None,
                  seed: int) -> dict[str, float]:
    """Pseudo-counts chosen by inner cross-validation on these rows only (see the module docstring)."""
    from router_plugins.replay import stratified_folds

    if len(tasks) < 2 * INNER_FOLDS:
        return {"level": math.inf, "gap": math.inf, "cost": math.inf}
    folds = stratified_folds(tasks, INNER_FOLDS, seed=seed)
    ok = np.isfinite(quality)

    def oof(k_level: float, k_gap: float, k_cost: float) -> tuple[NDArray, NDArray]:
        q = np.full(quality.shape, np.nan)
        c = np.full(quality.shape, np.nan)
        for f in range(INNER_FOLDS):
            held = folds == f
            fit = _fit_fixed(tasks[~held], quality[~held], None if cost is None else cost[~held], k_level, k_gap, k_cost)
            q[held], c[held] = _predict_with(*fit, tasks[held])
        return q, c

    best_level = min(PSEUDO_COUNTS, key=lambda k: np.mean((oof(k, math.inf, math.inf)[0] - quality)[ok] ** 2))
    rows = np.arange(len(tasks))

    def picked(k: float) -> NDArray[np.float64]:
        pred = oof(best_level, k, math.inf)[0]
        return quality[rows, np.argmax(pred, axis=1)]

    # switching away from the best configuration needs evidence: a finite k_gap must beat k_gap = ∞ on the held-out
    # rows by more than SWITCH_Z paired standard errors, else the task is ignored
    base = picked(math.inf)
    best_gap, best_gain = math.inf, 0.0
    for k in PSEUDO_COUNTS[:-1]:
        diff = picked(k) - base
        diff = diff[np.isfinite(diff)]
        if diff.size < 2:
            continue
        gain, se = float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(diff.size))
        if gain > SWITCH_Z * se and gain > best_gain:
            best_gap, best_gain = k, gain
    best_cost = math.inf
    if cost is not None:
        okc = np.isfinite(cost)
        best_cost = min(PSEUDO_COUNTS, key=lambda k: np.mean((oof(best_level, best_gap, k)[1] - cost)[okc] ** 2))
    return {"level": best_level, "gap": best_gap, "cost": best_cost}


def fit_configurations(table: Any, *, seed: int = 0) -> ConfigurationModel:
    """Fit a ConfigurationModel on an OutcomeTable whose "models" are configurations (pseudo-counts by inner CV)."""
    tasks = np.asarray(table.tasks).astype(str)
    quality = np.asarray(table.quality, dtype=np.float64)
    cost = None if table.cost is None else np.asarray(table.cost, dtype=np.float64)
    if len(tasks) == 0 or not np.isfinite(quality).any():
        raise DataError(f"{table.name}: no recorded outcome to fit configurations on")
    counts = _inner_choice(tasks, quality, cost, seed)
    names, g, task_q, h, task_c = _fit_fixed(tasks, quality, cost, counts["level"], counts["gap"], counts["cost"])
    return ConfigurationModel(
        configurations=tuple(table.models), mean_quality=tuple(g.tolist()), mean_cost=tuple(h.tolist()),
        task_quality={t: tuple(task_q[i].tolist()) for i, t in enumerate(names)},
        task_cost={t: tuple(task_c[i].tolist()) for i, t in enumerate(names)} if cost is not None else {},
        cost_unit=table.cost_unit if cost is not None else "none", pseudo_counts=counts, n_rows=len(tasks))


def out_of_fold(table: Any, folds: NDArray[np.int64], *, seed: int = 0
                ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[dict[str, float]]]:
    """(n, m) out-of-fold predicted quality and cost of every row (each fold fitted on the others) and each fold's
    chosen pseudo-counts."""
    n, m = len(table), len(table.models)
    q, c = np.full((n, m), np.nan), np.full((n, m), np.nan)
    counts = []
    for f in sorted(set(folds.tolist())):
        held = folds == f
        model = fit_configurations(table.select(~held), seed=seed)
        q[held], c[held] = model.predict_rows(table.tasks[held])
        counts.append(dict(model.pseudo_counts))
    return q, c, counts
