"""Replay evaluation of trained routers: λ sweeps, calibration, the report.json dict, its table and its plot.

Routing decision at a λ point: per query, argmax over models of predicted_quality − λ · cost_estimate, where
cost_estimate is the model's mean USD cost per query on the train split (stored in the checkpoint). λ = 0 plus a
log-spaced grid from "cost barely matters" to "always the cheapest" spans the whole curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins._json import plain
from router_plugins.replay import (
    OutcomeTable,
    aiq,
    baselines,
    bootstrap_block,
    bootstrap_blocks,
    bootstrap_interval,
    bootstrap_prepare,
    choice_means,
    cost_to_match,
    per_task_quality,
)
from router_plugins.scorer.backends import Backend, LocalBackend

#: λ points per sweep chunk: the unit of work a distributed evaluation ships to one task.
LAMBDA_CHUNK = 8
#: Resamples of the paired bootstrap behind each router's interval to the best single model.
N_BOOT = 2000


def mean_cost_per_query(table: OutcomeTable) -> dict[str, float]:
    """Each model's mean recorded (or estimated) USD cost per query; empty when the table has no cost."""
    if table.cost is None:
        return {}
    out = {}
    for j, m in enumerate(table.models):
        col = table.cost[:, j]
        col = col[np.isfinite(col)]
        if col.size:
            out[m] = float(col.mean())
    return out


def lambda_grid(costs: NDArray[np.float64], n: int = 48) -> list[float]:
    """λ = 0 and log-spaced values from 1e-3 / (cost range) (quality decides) to 1e3 / (smallest cost gap) (cost does)."""
    c = np.sort(np.unique(costs[np.isfinite(costs)]))
    if c.size < 2:
        return [0.0]
    span = float(c[-1] - c[0])
    gap = float(np.diff(c).min()) if c.size > 1 else span
    lo, hi = 1e-3 / span, 1e3 / max(gap, span * 1e-6)
    return [0.0, *np.geomspace(lo, hi, n - 1).tolist()]


def route(pred: NDArray[np.float32], costs: NDArray[np.float64] | None, lam: float) -> NDArray[np.int64]:
    """Model column per query maximising predicted quality − λ · cost (ties → lower cost). ``costs`` is one estimate
    per model (m,) or, under cross-validation, one per query and model (n, m) from that query's training folds."""
    if costs is None or lam == 0.0:
        score = pred.astype(np.float64)
        if costs is not None:  # break exact ties towards the cheaper model
            score = score - 1e-12 * costs / max(float(np.nanmax(costs)), 1e-30)
        return np.argmax(score, axis=1).astype(np.int64)
    return np.argmax(pred - lam * (costs if costs.ndim == 2 else costs[None, :]), axis=1).astype(np.int64)


def sweep_chunk(pred: NDArray[np.float32], quality: NDArray[np.float64], cost: NDArray[np.float64] | None,
                costs: NDArray[np.float64] | None, lambdas: list[float]) -> list[dict[str, Any]]:
    """Quality and mean recorded cost of routing by ``pred`` at each of ``lambdas``: one chunk of a λ sweep, computed
    the same here or in a worker."""
    points = []
    for lam in lambdas:
        q, c = choice_means(quality, cost, route(pred, costs, lam))
        points.append({"lambda": lam, "quality": q, "cost": c})
    return points


def sweep(pred: NDArray[np.float32], table: OutcomeTable, costs: NDArray[np.float64] | None) -> list[dict[str, Any]]:
    """Quality and mean cost on ``table`` at each λ of the grid (just λ = 0 without costs)."""
    return sweep_chunk(pred, table.quality, table.cost, costs, lambda_grid(costs) if costs is not None else [0.0])


def _submit_sweep(backend: Backend, pred: Any, arrays: tuple[Any, Any, Any],
                  grid: list[float]) -> Callable[[], list[dict[str, Any]]]:
    """Submit a λ sweep in chunks of :data:`LAMBDA_CHUNK`; the returned call gathers its points in λ order."""
    handles = [backend.submit(sweep_chunk, pred, *arrays, grid[i:i + LAMBDA_CHUNK])
               for i in range(0, len(grid), LAMBDA_CHUNK)]
    return lambda: [p for chunk in backend.gather(handles) for p in chunk]


def calibration(pred: NDArray[np.float32], quality: NDArray[np.float64], n_bins: int = 10) -> dict[str, Any]:
    """Expected calibration error of predicted vs recorded quality over all recorded (query, model) cells."""
    ok = np.isfinite(quality)
    p, y = pred[ok].astype(np.float64), quality[ok]
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    rows, ece = [], 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            gap = abs(p[sel].mean() - y[sel].mean())
            ece += sel.mean() * gap
            rows.append({"bin": [b / n_bins, (b + 1) / n_bins], "n": int(sel.sum()), "predicted": float(p[sel].mean()),
                         "observed": float(y[sel].mean())})
    return {"ece": float(ece), "brier": float(np.mean((p - y) ** 2)) if p.size else None, "reliability": rows}


def select_lambda(pred_val: NDArray[np.float32], val: OutcomeTable, costs: NDArray[np.float64] | None,
                  target_quality: float) -> float:
    """The cheapest λ point on the validation slice whose quality reaches ``target_quality`` (else λ = 0)."""
    if costs is None:
        return 0.0
    best = (math.inf, 0.0)
    for p in sweep(pred_val, val, costs):
        if p["quality"] >= target_quality - 1e-9 and p["cost"] is not None and p["cost"] < best[0]:
            best = (p["cost"], p["lambda"])
    return best[1]


def paired_difference(table: OutcomeTable, choices: NDArray[np.int64], reference: int, *,
                      backend: Backend | None = None) -> dict[str, Any]:
    """Mean per-query quality difference between routing by ``choices`` and always using column ``reference``,
    with its 95 % paired-bootstrap interval: how sure the gap to the best single model is."""
    return _submit_paired(backend or LocalBackend(), table, choices, reference)()


def _submit_paired(backend: Backend, table: OutcomeTable, choices: NDArray[np.int64],
                   reference: int) -> Callable[[], dict[str, Any]]:
    """Submit :func:`paired_difference`'s bootstrap blocks; the returned call gathers them into the interval."""
    rows = np.arange(len(table))
    diff = table.quality[rows, choices] - table.quality[:, reference]
    mean = float(np.nanmean(diff)) if np.isfinite(diff).any() else None
    values, codes = bootstrap_prepare(diff)
    if values.size == 0:
        return lambda: {"diff": mean, "ci95": [float("nan"), float("nan")]}
    v, g = backend.put(values), backend.put(codes)
    handles = [backend.submit(bootstrap_block, v, g, block=b, n_boot=N_BOOT) for b in range(bootstrap_blocks(N_BOOT))]
    return lambda: {"diff": mean, "ci95": list(bootstrap_interval(np.concatenate(backend.gather(handles))))}


def build_report(dataset: str, split: str, table: OutcomeTable, preds: Mapping[str, NDArray[np.float32]],
                 costs: NDArray[np.float64] | None, *, extra: Mapping[str, Any] | None = None,
                 backend: Backend | None = None) -> dict[str, Any]:
    """The report.json dict: models, best single, oracle, each router's λ sweep and AIQ, cost-to-match, per-task.
    The λ sweeps, calibration tables and bootstrap intervals run on ``backend`` (here by default; Ray under
    ``eval --ray``)."""
    run = backend or LocalBackend()
    base = baselines(table)
    has_cost = table.cost is not None and costs is not None
    models = {m: {"quality": base[m]["quality"], "cost": base[m]["cost"] if has_cost else None} for m in table.models}
    best = base["best_single"]
    routing_costs = costs if has_cost else None
    arrays = (run.put(table.quality), run.put(table.cost), run.put(routing_costs))
    grid = lambda_grid(routing_costs) if routing_costs is not None else [0.0]
    pending: dict[str, tuple[Any, ...]] = {}
    for name, pred in preds.items():  # every chunk of every router is submitted before any result is awaited
        ref, choices = run.put(pred), route(pred, routing_costs, 0.0)
        paired = None if best is None else _submit_paired(run, table, choices, table.models.index(best["name"]))
        calibrated = run.submit(calibration, ref, arrays[0])
        pending[name] = (_submit_sweep(run, ref, arrays, grid), calibrated, paired, choices)
    routers: dict[str, Any] = {}
    per_task: dict[str, dict[str, float]] = {}
    all_points: dict[str, list[tuple[float, float]]] = {}
    for name, (sweep_of, calibrated, _, choices) in pending.items():
        pts = sweep_of()
        routers[name] = {"points": pts}
        usable = [(p["cost"], p["quality"]) for p in pts if p["cost"] is not None and np.isfinite(p["quality"])]
        all_points[name] = usable
        for task, q in per_task_quality(table, choices).items():
            per_task.setdefault(task, {})[name] = q
        routers[name]["calibration"] = run.gather([calibrated])[0]
    for key in ("random", "most_expensive", "oracle"):
        b = base.get(key)
        if b is not None:
            routers[key] = {"points": [{"lambda": None, "quality": b["quality"], "cost": b["cost"] if has_cost else None}]}
            if has_cost:
                all_points[key] = [(b["cost"], b["quality"])]
    for j, m in enumerate(table.models):
        for task, q in per_task_quality(table, np.full(len(table), j)).items():
            per_task.setdefault(task, {})[m] = q
    for name, (_, _, paired, _) in pending.items():
        if paired is not None:
            routers[name]["lambda0_vs_best_single"] = paired()
    cost_max = max((c for pts in all_points.values() for c, _ in pts), default=0.0)
    cost_to_match_best: dict[str, float | None] = {}
    for name in routers:
        pts = all_points.get(name)
        if has_cost and pts:
            routers[name]["aiq"] = aiq(pts, max_cost=cost_max)
            if best and best["cost"]:
                cost_to_match_best[name] = cost_to_match(pts, best["quality"], best["cost"])
        else:
            routers[name]["aiq"] = None
            routers[name]["quality_lambda0"] = routers[name]["points"][0]["quality"]
    report = {
        "dataset": dataset,
        "split": split,
        "n": len(table),
        "metric": table.metric,
        "cost_note": table.meta.get("cost_note") if has_cost else "no cost: only quality is compared",
        "cost_unit": table.cost_unit if has_cost else None,
        "models": models,
        "best_single": {"name": best["name"], "quality": best["quality"], "cost": best["cost"] if has_cost else None},
        "oracle": {"quality": base["oracle"]["quality"], "cost": base["oracle"]["cost"] if has_cost else None},
        "routers": routers,
        "cost_to_match_best": cost_to_match_best,
        "per_task": per_task,
        "aiq_max_cost": cost_max if has_cost else None,
        **(dict(extra) if extra else {}),
    }
    return plain(report)  # type: ignore[no-any-return]


def format_table(report: Mapping[str, Any]) -> str:
    """A plain-text summary: each router's λ = 0 point, its best point at ≤ best-single cost, AIQ, cost-to-match."""
    best = report["best_single"]
    lines = [f"{report['dataset']} / {report['split']} (n={report['n']}): best single {best['name']} "
             f"q={best['quality']:.4f}" + (f" cost={best['cost']:.3g}" if best["cost"] is not None else "")
             + f"; oracle q={report['oracle']['quality']:.4f}"
             + (f"; cost in {report['cost_unit']}" if report.get("cost_unit") else ""),
             f"{'router':<28}{'q(λ=0)':>9}{'cost(λ=0)':>11}{'q@≤best$':>10}{'AIQ':>9}{'$→match':>9}"]
    for name, r in report["routers"].items():
        p0 = r["points"][0]
        cap = [p for p in r["points"] if p["cost"] is not None and best["cost"] is not None and p["cost"] <= best["cost"]]
        q_cap = max((p["quality"] for p in cap if p["quality"] is not None), default=None)
        ctm = report["cost_to_match_best"].get(name)
        lines.append(f"{name:<28}{_f(p0['quality'], 4):>9}{_f(p0['cost'], 3, 'g'):>11}{_f(q_cap, 4):>10}"
                     f"{_f(r.get('aiq'), 4):>9}{_f(ctm, 3):>9}")
    lines += [
        "q(λ=0), cost(λ=0): quality and mean cost per query when the router ignores cost;",
        "q@≤best$: the router's best quality over its λ sweep at no more than the best single model's cost;",
        "AIQ: area under the router's cost–quality hull divided by the largest cost compared (RouterBench), higher is better;",
        "$→match: the router's cost to reach the best single model's quality, as a share of that model's cost "
        "(— = never reached)",
    ]
    return "\n".join(lines)


def _f(value: Any, digits: int, kind: str = "f") -> str:
    return "—" if value is None else f"{value:.{digits}{kind}}"


def plot_cost_quality(report: Mapping[str, Any], path: str | Path) -> Path:
    """Every router's λ sweep as a line and every single model as a point (log cost axis when costs are known)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    has_cost = report["best_single"]["cost"] is not None
    for name, r in report["routers"].items():
        pts = [(p["cost"] if has_cost else i, p["quality"]) for i, p in enumerate(r["points"]) if p["quality"] is not None]
        if not pts:
            continue
        xs, ys = zip(*sorted(pts))
        if len(pts) > 1:
            ax.plot(xs, ys, "-", marker=".", ms=3, label=name)
        else:
            ax.plot(xs, ys, "*", ms=11, label=name)
    post = report.get("post_generation") or {}
    for label, points in (("after answers: every mode", post.get("points")),
                          ("after answers: no judge", (post.get("without_judge") or {}).get("points")),
                          ("after answers: judge cascades", (post.get("judge_cascade") or {}).get("points"))):
        if points and has_cost:
            xs, ys = zip(*sorted((p["cost"], p["quality"]) for p in points))
            ax.plot(xs, ys, "--", marker="x", ms=4, label=label)
    for name, m in report["models"].items():
        if m["quality"] is None:
            continue
        x = m["cost"] if has_cost and m["cost"] is not None else 0.0
        ax.plot([x], [m["quality"]], "o", color="grey", ms=5)
        ax.annotate(name.split("/")[-1][:24], (x, m["quality"]), fontsize=6, xytext=(3, 2), textcoords="offset points")
    if has_cost:
        ax.set_xscale("log")
        ax.set_xlabel(f"mean cost per query ({report.get('cost_unit') or 'USD'})")
    else:
        ax.set_xlabel("(no cost recorded)")
    ax.set_ylabel("quality")
    ax.set_title(f"{report['dataset']} — {report['split']} (n={report['n']})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
