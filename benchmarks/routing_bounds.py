"""How far can routing by query text go on each target dataset? Upper bounds next to the trained routers.

A router that reads only the query text can at best send every query of a group of similar queries to the model that
is best for that group. This script measures that ceiling on the **test** split with the **test labels** (so it is an
optimistic bound, not a router): queries are grouped by task, then by k-means clusters of their MiniLM embeddings
within each task (clusters fitted on train, ≥ 20 train rows per cluster), and each group gets the model that is best
*on its test rows* (λ-swept where the data has costs). The same groups with the model chosen on **train** are an
honest cluster router, shown for contrast, and the per-query oracle is the absolute ceiling. The issue's targets are
read off the same curves as the routers' figures in `routing_quality.py` (whose report.json files it reads when
present).

    HF_HUB_OFFLINE=1 python benchmarks/routing_bounds.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from router_plugins.replay import (  # noqa: E402
    OutcomeTable,
    cost_quality_hull,
    cost_to_match,
    evaluate_choices,
    load_outcomes,
)
from router_plugins.scorer.encoders import CachedEncoder, make_encoder  # noqa: E402
from router_plugins.scorer.pipeline import embed_table  # noqa: E402
from router_plugins.scorer.report import lambda_grid  # noqa: E402

ROOT = Path(__file__).resolve().parent
GPT4 = "gpt-4-1106-preview"
CLUSTERS = (5, 20, 50)
MIN_TRAIN_ROWS_PER_CLUSTER = 20
ROUTERDC_ID_TASKS = ("mmlu", "gsm8k", "cmmlu", "arc_challenge", "humaneval")


@dataclass(frozen=True)
class Target:
    """One row of the issue's table: which rows, which reference, which figure is the target."""

    dataset: str
    label: str
    family: str | None  # task prefix selecting the rows, None = all
    kind: str  # "cost_for_quality" | "quality_at_cost" | "id_average" | "quality_at_best_cost"
    reference: str | None = None  # the model whose quality/cost the target is relative to
    quality: float | None = None  # absolute quality target, or a share of the reference's quality
    quality_is_share: bool = False
    cost_share: float | None = None  # cost target as a share of the reference's cost
    calls: bool = False  # cost = share of calls to the reference (RouteLLM's measure)


TARGETS = (
    Target("routerbench_via_routerdc", "RouterBench: quality at 25 % of GPT-4's cost (target ≥ 0.880)", None,
           "quality_at_cost", GPT4, 0.880, cost_share=0.25),
    Target("routellm_gpt4_mixtral", "RouteLLM GSM8K: USD share of GPT-4 for 95 % of its quality (target ≤ 0.50)",
           "gsm8k", "cost_for_quality", GPT4, 0.95, quality_is_share=True, cost_share=0.5),
    Target("routellm_gpt4_mixtral", "RouteLLM GSM8K: GPT-4 call share for 95 % of its quality (target ≤ 0.50)",
           "gsm8k", "cost_for_quality", GPT4, 0.95, quality_is_share=True, cost_share=0.5, calls=True),
    Target("routellm_gpt4_mixtral", "RouteLLM MMLU: USD share of GPT-4 for 95 % of its quality (target ≤ 0.50)",
           "mmlu", "cost_for_quality", GPT4, 0.95, quality_is_share=True, cost_share=0.5),
    Target("routellm_gpt4_mixtral", "RouteLLM MMLU: GPT-4 call share for 95 % of its quality (target ≤ 0.50)",
           "mmlu", "cost_for_quality", GPT4, 0.95, quality_is_share=True, cost_share=0.5, calls=True),
    Target("routerdc_7llm", "routerdc_7llm: average of the 5 ID test-task means (target ≥ 0.61)", None,
           "id_average", quality=0.61),
    Target("llmrouter_nim9", "llmrouter_nim9: quality at ≤ the best single model's cost (target ≥ 0.62)", None,
           "quality_at_best_cost", quality=0.62),
)


def groups_for(train: OutcomeTable, test: OutcomeTable, e_train: NDArray[np.float32], e_test: NDArray[np.float32],
               k: int, seed: int = 0) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Group ids of train and test rows: one group per task (k=1) or k-means clusters of the embeddings per task
    (fitted on train, at most one cluster per MIN_TRAIN_ROWS_PER_CLUSTER train rows)."""
    from sklearn.cluster import KMeans

    g_train = np.full(len(train), -1, dtype=np.int64)
    g_test = np.full(len(test), -1, dtype=np.int64)
    offset = 0
    for task in sorted(set(test.tasks.tolist())):
        a, b = train.tasks == task, test.tasks == task
        n_clusters = max(1, min(k, int(a.sum()) // MIN_TRAIN_ROWS_PER_CLUSTER))
        if n_clusters == 1 or not a.any():
            g_train[a], g_test[b] = offset, offset
        else:
            km = KMeans(n_clusters=n_clusters, n_init=3, random_state=seed).fit(e_train[a])
            g_train[a] = offset + km.labels_
            g_test[b] = offset + km.predict(e_test[b])
        offset += n_clusters
    return g_train, g_test


def group_choices(source: OutcomeTable, g_source: NDArray[np.int64], g_rows: NDArray[np.int64],
                  lam: float) -> NDArray[np.int64]:
    """Per row of the routed table: the model maximising mean quality − λ·mean cost over its group's ``source`` rows
    (NaN outcomes ignored; a group absent from ``source`` gets the source's overall choice)."""
    q, c = source.quality, source.cost if source.has_cost else np.zeros_like(source.quality)

    def pick(mask: NDArray[np.bool_]) -> int:
        with warnings.catch_warnings():  # a model with no outcome in the group: NaN, skipped below
            warnings.simplefilter("ignore", RuntimeWarning)
            score = np.nanmean(q[mask], axis=0) - lam * np.nanmean(c[mask], axis=0)
        return int(np.nanargmax(np.where(np.isnan(score), -np.inf, score)))

    fallback = pick(np.ones(len(source), dtype=bool))
    out = np.empty(len(g_rows), dtype=np.int64)
    for g in np.unique(g_rows):
        m = g_source == g
        out[g_rows == g] = pick(m) if m.any() else fallback
    return out


def curve(source: OutcomeTable, test: OutcomeTable, g_source: NDArray[np.int64], g_test: NDArray[np.int64],
          lambdas: list[float]) -> list[tuple[float, float]]:
    """(cost, quality) on test of the group router at each λ."""
    pts = []
    for lam in lambdas:
        q, c = evaluate_choices(test, group_choices(source, g_source, g_test, lam))
        pts.append((c if c is not None else 0.0, q))
    return pts


def quality_at(points: list[tuple[float, float]], cost: float) -> float:
    """Best quality on the cost–quality hull at ≤ ``cost`` (interpolating between vertices)."""
    hull = cost_quality_hull(points)
    if cost < hull[0, 0]:
        return float("nan")
    return float(np.interp(cost, hull[:, 0], hull[:, 1]))


def with_call_costs(table: OutcomeTable, strong: str) -> OutcomeTable:
    """Cost 1 per call of ``strong`` and 0 otherwise (RouteLLM's cost measure)."""
    from dataclasses import replace

    cost = np.tile((np.array(table.models) == strong).astype(np.float64), (len(table), 1))
    return replace(table, cost=cost, cost_estimated=False)


def measured(target: Target, reports: Path) -> dict[str, Any]:
    """The trained routers' figure for this target, from routing_quality.py's report.json (when it was run)."""
    sub = {None: "test"}.get(target.family, f"test_{target.family}")
    path = reports / target.dataset / sub / "report.json"
    if not path.exists():
        return {}
    rep = json.loads(path.read_text())
    if target.kind == "id_average":
        return {k: v for k, v in rep.get("id_task_average", {}).items() if k in rep["routers"]}
    if target.kind == "cost_for_quality":
        key = "gpt4_call_share_for_95pct_of_best" if target.calls else "cost_share_for_95pct_of_best"
        return {k: v for k, v in rep.get(key, {}).items()}
    ref_cost = (rep["models"][target.reference]["cost"] if target.reference else rep["best_single"]["cost"])
    limit = ref_cost * (target.cost_share or 1.0)
    return {name: quality_at([(p["cost"], p["quality"]) for p in r["points"]], limit)
            for name, r in rep["routers"].items()}


def bound_figure(target: Target, source: OutcomeTable, test: OutcomeTable, g_source: NDArray[np.int64],
                 g_test: NDArray[np.int64]) -> float | None:
    """The target's figure for one group router (``source`` = where its choices are made: train or test)."""
    if target.kind == "id_average":
        means = []
        for task in ROUTERDC_ID_TASKS:
            m = test.tasks == task
            means.append(evaluate_choices(test.select(m), group_choices(source, g_source, g_test[m], 0.0))[0])
        return float(np.mean(means))
    lambdas = lambda_grid(np.nanmean(test.cost, axis=0))
    pts = curve(source, test, g_source, g_test, lambdas)
    if target.kind == "quality_at_best_cost":
        means = np.nanmean(test.quality, axis=0)
        best = int(np.nanargmax(means))
        return quality_at(pts, float(np.nanmean(test.cost[:, best])))
    ref = test.models.index(target.reference)
    ref_q, ref_c = float(np.nanmean(test.quality[:, ref])), float(np.nanmean(test.cost[:, ref]))
    if target.kind == "quality_at_cost":
        return quality_at(pts, ref_c * (target.cost_share or 1.0))
    goal = (target.quality or 0.0) * ref_q if target.quality_is_share else (target.quality or 0.0)
    return cost_to_match(pts, goal, ref_c)


def oracle_figure(target: Target, test: OutcomeTable) -> float | None:
    """The target's figure for a per-query oracle (each row its own group, choices made on its own label)."""
    ids = np.arange(len(test))
    return bound_figure(target, test, test, ids, ids)


def run_target(target: Target, table: OutcomeTable, enc: CachedEncoder, reports: Path) -> dict[str, Any]:
    train, test = table.split("train"), table.split("test")
    if target.family:
        train = train.select(np.char.startswith(train.tasks.astype(str), target.family))
        test = test.select(np.char.startswith(test.tasks.astype(str), target.family))
    if target.calls:
        train, test = with_call_costs(train, GPT4), with_call_costs(test, GPT4)
    e_train, e_test = embed_table(train, enc, progress=False), embed_table(test, enc, progress=False)
    rows: dict[str, Any] = {"n_test": len(test), "per_query_oracle": oracle_figure(target, test)}
    for k in (1, *CLUSTERS):
        g_train, g_test = groups_for(train, test, e_train, e_test, k)
        name = "task" if k == 1 else f"task+{k} clusters"
        rows[f"{name}, chosen on test (bound)"] = bound_figure(target, test, test, g_test, g_test)
        rows[f"{name}, chosen on train (router)"] = bound_figure(target, train, test, g_train, g_test)
    rows["trained routers (routing_quality.py)"] = measured(target, reports)
    return rows


def fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    if isinstance(v, dict):
        return ", ".join(f"{k} {fmt(x)}" for k, x in v.items()) or "(not run)"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--reports", type=Path, default=ROOT / "results" / "scorer")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bounds.json")
    args = ap.parse_args()
    enc = CachedEncoder(make_encoder("minilm"))
    tables: dict[str, OutcomeTable] = {}
    results = {}
    for target in TARGETS:
        if target.dataset not in tables:
            tables[target.dataset] = load_outcomes(args.data_root / target.dataset)
        rows = run_target(target, tables[target.dataset], enc, args.reports)
        results[target.label] = rows
        print(f"\n### {target.label}  (n_test={rows['n_test']})\n\n| router or bound | figure |\n|---|---:|")
        for name, v in rows.items():
            if name != "n_test":
                print(f"| {name} | {fmt(v)} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=float))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
