"""Out-of-fold evaluation of the fitted configuration model and the learned selector on configuration outcomes
(DyLAN team sizes, MoA systems): the ``calibration`` and ``configuration_selector`` parts of ``eval``'s report.json
and the demo's multi-agent table.

Every figure is out-of-fold: k folds stratified by task; the model for a fold is fitted on the other folds only
(its pseudo-counts chosen by inner cross-validation inside them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.configuration_model import out_of_fold
from router_plugins.replay import OutcomeTable, baselines, bootstrap_ci, evaluate_choices, stratified_folds

__all__ = ["calibration_table", "evaluate_configurations", "format_configurations", "selector_points", "task_bound"]

#: λ values (per unit of the table's cost) the selector is replayed at, besides the points its own predictions define.
LAMBDA_STEPS = 24


def calibration_table(table: OutcomeTable, pred_q: NDArray[np.float64],
                      pred_c: NDArray[np.float64]) -> dict[str, dict[str, float | None]]:
    """Per configuration: mean out-of-fold predicted vs recorded quality and cost (over rows where it is recorded)."""
    out: dict[str, dict[str, float | None]] = {}
    for j, name in enumerate(table.models):
        ok = np.isfinite(table.quality[:, j])
        row: dict[str, float | None] = {"predicted_quality": float(pred_q[ok, j].mean()),
                                        "recorded_quality": float(table.quality[ok, j].mean()),
                                        "predicted_cost": None, "recorded_cost": None}
        if table.cost is not None:
            okc = np.isfinite(table.cost[:, j])
            row["predicted_cost"] = float(pred_c[okc, j].mean())
            row["recorded_cost"] = float(table.cost[okc, j].mean())
        out[name] = row
    return out


def _route(pred_q: NDArray[np.float64], pred_c: NDArray[np.float64], lam: float) -> NDArray[np.int64]:
    return np.argmax(pred_q - lam * pred_c - 1e-12 * pred_c, axis=1).astype(np.int64)


def selector_points(table: OutcomeTable, pred_q: NDArray[np.float64],
                    pred_c: NDArray[np.float64]) -> list[dict[str, Any]]:
    """The selector replayed over a λ grid (λ per unit of cost): quality, cost and configuration shares per point."""
    gaps = np.abs(np.diff(np.sort(pred_c, axis=1), axis=1))
    lo = float(np.nanmin(gaps[gaps > 0])) if (gaps > 0).any() else 1.0
    lams = [0.0, *np.geomspace(1e-4 / max(float(np.nanmax(pred_c)), 1e-30), 10.0 / lo, LAMBDA_STEPS - 1).tolist()]
    points = []
    for lam in lams:
        choice = _route(pred_q, pred_c, lam)
        q, c = evaluate_choices(table, choice)
        share = {m: float(np.mean(choice == j)) for j, m in enumerate(table.models) if np.any(choice == j)}
        points.append({"lambda": lam, "quality": q, "cost": c, "share": share})
    return points


def task_bound(table: OutcomeTable) -> dict[str, Any]:
    """Ceiling of any router that sees only the task: each task gets the configuration best on **its own** rows
    (in-sample, ties → cheaper), as ``benchmarks/routing_bounds.py`` does. Beating it needs per-item signal."""
    choice = np.zeros(len(table), dtype=np.int64)
    cost = table.cost if table.cost is not None else np.zeros_like(table.quality)
    for task in set(table.tasks.tolist()):
        rows = table.tasks == task
        q = np.nanmean(table.quality[rows], axis=0)
        c = np.nanmean(cost[rows], axis=0)
        choice[rows] = int(np.lexsort((c, -q))[0])
    quality, c = evaluate_choices(table, choice)
    return {"quality": quality, "cost": c, "note": "each task's best configuration chosen on its own (held-out) "
            "labels: an optimistic ceiling for task-only routing, not a router"}


def evaluate_configurations(table: OutcomeTable, *, k: int = 5, seed: int = 0) -> dict[str, Any]:
    """Calibration and selector figures, all out-of-fold (k folds stratified by task): the dict ``eval`` merges into
    report.json (``calibration``, ``configuration_selector``) and the demo prints."""
    folds = stratified_folds(table.tasks, k, seed=seed)
    pred_q, pred_c, counts = out_of_fold(table, folds, seed=seed)
    base = baselines(table)
    best = base["best_single"]
    assert best is not None
    j_best = table.models.index(best["name"])
    rows = np.arange(len(table))
    points = selector_points(table, pred_q, pred_c)
    choice0 = _route(pred_q, pred_c, 0.0)
    diff = table.quality[rows, choice0] - table.quality[:, j_best]
    lo, hi = bootstrap_ci(diff)
    capped = [p for p in points if p["cost"] is not None and best["cost"] is not None and p["cost"] <= best["cost"] + 1e-12]
    top = max(capped, key=lambda p: (p["quality"], -p["cost"]), default=None)
    most = base.get("most_expensive")
    bound = task_bound(table)
    selector = {
        "rule": "per query, the configuration with the highest fitted quality − λ·cost for its task (out-of-fold)",
        "points": points,
        "lambda0": {"quality": points[0]["quality"], "cost": points[0]["cost"], "share": points[0]["share"],
                    "vs_best_fixed": {"diff": float(np.nanmean(diff)), "ci95": [lo, hi]}},
        "best_at_most_best_fixed_cost": top,
        "best_fixed": {"name": best["name"], "quality": best["quality"], "cost": best["cost"]},
        "most_expensive": most,
        "oracle": base["oracle"],
        "task_bound": bound,
        "fixed": {m: base[m] for m in table.models},
        "pseudo_counts_per_fold": [{key: (None if not np.isfinite(v) else v) for key, v in c.items()} for c in counts],
    }
    return {"calibration": calibration_table(table, pred_q, pred_c), "configuration_selector": selector,
            "calibration_note": f"out-of-fold ({k} folds stratified by {table.meta.get('cv_strata', 'task')}): "
                                "per-configuration, per-task shrunk means fitted on the other folds "
                                "(router_plugins.configuration_model); cost in " + str(table.cost_unit)}


def format_configurations(name: str, result: dict[str, Any], cost_unit: str) -> str:
    """A plain-text table: the learned selector (λ = 0 and its best point at ≤ the best fixed cost) against every
    fixed configuration and the oracle, with the calibration columns."""
    sel = result["configuration_selector"]
    cal = result["calibration"]
    best = sel["best_fixed"]
    lines = [f"{name}: learned configuration selector vs fixed configurations (out-of-fold, cost in {cost_unit})",
             f"{'configuration / router':<50}{'quality':>9}{'cost':>11}{'pred q':>9}{'pred cost':>11}"]

    def row(label: str, q: float, c: float | None, pq: float | None = None, pc: float | None = None) -> str:
        return (f"{label:<50}{q:>9.4f}{'' if c is None else format(c, '.4g'):>11}"
                f"{'' if pq is None else format(pq, '.4f'):>9}{'' if pc is None else format(pc, '.4g'):>11}")

    l0 = sel["lambda0"]
    d = l0["vs_best_fixed"]
    lines.append(row("learned selector λ=0", l0["quality"], l0["cost"]))
    top = sel["best_at_most_best_fixed_cost"]
    if top is not None:
        lines.append(row(f"learned selector, best at ≤ {best['name']} cost", top["quality"], top["cost"]))
    for m, b in sel["fixed"].items():
        c = cal[m]
        lines.append(row(f"always {m}", b["quality"], b["cost"], c["predicted_quality"], c["predicted_cost"]))
    lines.append(row("task-only ceiling (per task, own labels)", sel["task_bound"]["quality"], sel["task_bound"]["cost"]))
    lines.append(row("oracle (per item, recorded outcomes)", sel["oracle"]["quality"], sel["oracle"]["cost"]))
    lines.append(f"selector λ=0 − best fixed ({best['name']}): {d['diff']:+.4f}, 95 % paired bootstrap "
                 f"[{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}]; λ=0 shares {l0['share']}")
    return "\n".join(lines)
