"""The main job's first part: route every test query of the embedded data and compare with the baselines.

Quality and cost are replayed from recorded outcomes (no API call): the routed choice of each query is looked
up in the table. The embedded data (llmrouter_nim9, MIT) records no tokens, so its costs are estimated from
estimated tokens × the models' list prices and are marked as estimated wherever they are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from router_plugins.cards import ModelCard, ModelPool
from router_plugins.options import PlanOptions
from router_plugins.query import Query
from router_plugins.replay import OutcomeTable, baselines, evaluate_choices, load_outcomes

if TYPE_CHECKING:
    from router_plugins.router import Router

DEFAULT_LAMBDAS: tuple[float, ...] = (0.0, 100.0, 1000.0)


def embedded_data_path() -> Path:
    """Folder of the embedded demo data (llmrouter_nim9, MIT licence) inside the installed package."""
    return Path(str(files("router_plugins") / "data" / "llmrouter_nim9"))


def task_prior_pool(table: OutcomeTable, train: OutcomeTable) -> ModelPool:
    """Cards for the table's models: list prices, and a prior quality per task family measured on ``train``."""
    cards = []
    for j, name in enumerate(table.models):
        col = train.quality[:, j]
        per_task = {}
        for task in sorted(set(train.tasks.tolist())):
            values = col[train.tasks == task]
            values = values[~np.isnan(values)]
            if values.size:
                per_task[task] = float(values.mean())
        per_task["*"] = float(np.nanmean(col))
        price_in, price_out = table.prices.get(name, (0.0, 0.0))
        cards.append(
            ModelCard(
                name=name,
                provider="replay",
                input_price=price_in,
                output_price=price_out,
                quality=per_task,
                description=table.descriptions.get(name, ""),
            )
        )
    return ModelPool(cards)


def route_rows(router: Router, table: OutcomeTable, lam: float) -> np.ndarray:
    """The column of the model each row's plan picked (single-role plans, one batch)."""
    queries = [Query(text=t, task=str(task)) for t, task in zip(table.texts, table.tasks)]
    plans = router.plan_batch(queries, options=PlanOptions(lam=lam))
    index = {m: i for i, m in enumerate(table.models)}
    return np.array([index[p.assignments["default"]] for p in plans], dtype=np.int64)


#: The scorers the demo compares: the shipped trained checkpoint (built-in default) and the card prior alone.
SCORERS: dict[str, tuple[str, ...]] = {
    "trained": (),
    "prior": ("router_plugins.scorer.plugin",),
}
SCORER_LABELS = {
    "trained": "trained scorer (shipped checkpoint, train splits of MIT/Apache data)",
    "prior": "card prior per task (train-split means)",
}


def run_demo(
    data: str | Path | None = None,
    lambdas: Iterable[float] = DEFAULT_LAMBDAS,
    plugins: Sequence[Any] = (),
) -> dict[str, Any]:
    """Route the test split at each λ with each scorer; collect routed vs baseline quality and cost (JSON-able)."""
    from router_plugins.router import Router  # the one place the replay package needs the routing kernel

    table = load_outcomes(data or embedded_data_path())
    train, test = table.split("train"), table.split("test")
    pool = task_prior_pool(table, train)
    routed = []
    for scorer, disabled in SCORERS.items():
        router = Router(pool, plugins=plugins, load_entrypoints=False, fail_open=False, disable_plugins=disabled)
        for lam in lambdas:
            choices = route_rows(router, test, lam)
            quality, cost = evaluate_choices(test, choices)
            share = {m: float(np.mean(choices == j)) for j, m in enumerate(test.models) if np.any(choices == j)}
            routed.append({"scorer": scorer, "lambda": lam, "quality": quality, "cost": cost, "share": share})
    return {
        "dataset": table.name,
        "split": "test",
        "n": len(test),
        "cost_estimated": table.cost_estimated,
        "scorers": {k: SCORER_LABELS[k] for k in SCORERS},
        "routed": routed,
        "baselines": baselines(test),
        "models": list(test.models),
    }


def format_demo(result: dict[str, Any]) -> str:
    """A plain-text table of the demo result."""
    est = " (estimated: tokens × list prices)" if result["cost_estimated"] else ""
    lines = [
        f"Replay on {result['dataset']} {result['split']} split, {result['n']} queries (single-role routing)",
        f"quality = mean recorded score; cost = mean USD per query{est}",
        *[f"  {key}: {label}" for key, label in result["scorers"].items()],
        "",
    ]
    base = result["baselines"]
    best = base["best_single"]
    width = 26 + max(len(m) for m in result["models"])
    lines.append(f"{'router / baseline':<{width}} {'quality':>8} {'cost/query':>12} {'cost ÷ best single':>18}")

    def row(label: str, q: float, c: float | None) -> str:
        rel = "" if c is None or not best or not best["cost"] else f"{c / best['cost']:.2f}×"
        cost = "n/a" if c is None else f"${c:.3e}"
        return f"{label:<{width}} {q * 100:>7.1f}% {cost:>12} {rel:>18}"

    for r in result["routed"]:
        lines.append(row(f"routed ({r['scorer']}) λ={r['lambda']:g}", r["quality"], r["cost"]))
    lines.append("")
    lines.append(row(f"best single ({best['name']})", best["quality"], best["cost"]))
    if base.get("most_expensive"):
        me = base["most_expensive"]
        lines.append(row(f"always most expensive ({me['name']})", me["quality"], me["cost"]))
    lines.append(row("random", base["random"]["quality"], base["random"]["cost"]))
    lines.append(row("oracle", base["oracle"]["quality"], base["oracle"]["cost"]))
    lines.append("")
    lines.append("single models, each answering every query:")
    for m in result["models"]:
        lines.append(row(f"  {m}", base[m]["quality"], base[m]["cost"]))
    if best and result["routed"]:
        top = max(result["routed"], key=lambda r: (r["quality"], -(r["cost"] or 0.0)))
        rel = f" at {top['cost'] / best['cost']:.2f}× its cost" if top["cost"] is not None and best["cost"] else ""
        lines.append(f"summary: the best router, {top['scorer']} λ={top['lambda']:g}, scores "
                     f"{(top['quality'] - best['quality']) * 100:+.1f} points against the best single model{rel}")
    return "\n".join(lines)
