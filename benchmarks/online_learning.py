"""Online learning from outcome feedback, cold start: how fast does routing on recorded outcomes catch up?

The pool's cards carry prices but no quality priors, and the trained scorer is off: a cold start. The train split is
streamed once in a fixed random order; each query is planned, and the outcome of what ran is recorded with
``router.record`` into an :class:`~router_plugins.online.OnlineFeedback` store:
- "bandit": only the chosen model's recorded quality is observed (what an application sees), with a UCB exploration
  bonus while learning;
- "full": every model's recorded quality is observed (as if each query were labelled).
After every checkpoint the test split is routed with exploration off and the learned statistics frozen. Baselines on
the same test rows: the cold start (no feedback), the per-task prior from all train labels (offline training), the
best single model and the oracle. Prints a table; writes JSON and a learning-curve PNG.

    python benchmarks/online_learning.py                     # embedded llmrouter_nim9 (MIT)
    python benchmarks/online_learning.py --data ../shared/data/routerbench_via_routerdc
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from router_plugins import ModelCard, ModelPool, Router
from router_plugins.online import MemoryOutcomeStore, OnlineFeedback
from router_plugins.outcome import Outcome, RoleOutcome
from router_plugins.query import Query
from router_plugins.replay import OutcomeTable, baselines, evaluate_choices, load_outcomes
from router_plugins.replay.demo import embedded_data_path, task_prior_pool

ROOT = Path(__file__).resolve().parent
NO_TRAINED = ["router_plugins.scorer.plugin"]


def cold_pool(table: OutcomeTable) -> ModelPool:
    """Cards with the table's prices and no quality prior."""
    return ModelPool([ModelCard(name=m, input_price=table.prices.get(m, (0.0, 0.0))[0],
                                output_price=table.prices.get(m, (0.0, 0.0))[1]) for m in table.models])


def route(router: Router, rows: OutcomeTable) -> np.ndarray:
    """Model column chosen for each row."""
    plans = router.plan_batch([Query(t, task=str(k)) for t, k in zip(rows.texts, rows.tasks, strict=True)])
    index = {m: j for j, m in enumerate(rows.models)}
    return np.array([index[p.model_for("default") or router.default_model] for p in plans])


def score(rows: OutcomeTable, choices: np.ndarray) -> dict[str, float]:
    q, c = evaluate_choices(rows, choices)
    return {"quality": q, "cost": c if c is not None else float("nan")}


def run(data: Path, lam: float, exploration: float, prior_strength: float, checkpoints: list[int],
        seed: int) -> dict[str, Any]:
    table = load_outcomes(data)
    train, test = table.split("train"), table.split("test")
    order = np.random.default_rng(seed).permutation(len(train))
    pool = cold_pool(table)
    base = baselines(test)
    prior_router = Router(task_prior_pool(table, train), lam=lam, load_entrypoints=False, disable_plugins=NO_TRAINED)
    out: dict[str, Any] = {
        "data": str(data), "lambda": lam, "exploration": exploration, "prior_strength": prior_strength,
        "n_train": len(train), "n_test": len(test),
        "cold_start": score(test, route(Router(pool, lam=lam, load_entrypoints=False, disable_plugins=NO_TRAINED),
                                         test)),
        "offline_per_task_prior": score(test, route(prior_router, test)),
        "best_single": {k: base["best_single"][k] for k in ("name", "quality", "cost")},
        "oracle": {k: base["oracle"][k] for k in ("quality", "cost")},
        "curves": {},
    }
    for feedback in ("bandit", "full"):
        store = MemoryOutcomeStore()
        learner = OnlineFeedback(store, prior_strength=prior_strength, background=False,
                                 exploration=exploration if feedback == "bandit" else 0.0)
        frozen = OnlineFeedback(store, prior_strength=prior_strength, background=False, refresh_s=0.0)
        learn = Router(pool, lam=lam, plugins=[learner], load_entrypoints=False, disable_plugins=NO_TRAINED)
        evaluate = Router(pool, lam=lam, plugins=[frozen], load_entrypoints=False, disable_plugins=NO_TRAINED)
        curve, seen, start = [], 0, time.perf_counter()
        marks = sorted({min(c, len(train)) for c in checkpoints})
        bar = tqdm(total=marks[-1], desc=f"{feedback} feedback", leave=False)
        for mark in marks:
            for i in order[seen:mark]:
                query = Query(train.texts[i], task=str(train.tasks[i]))
                plan = learn.plan(query)
                ran = [plan.model_for("default")] if feedback == "bandit" else list(train.models)
                for model in ran:
                    q = train.quality[i, train.model_index(model)]
                    if np.isfinite(q):
                        learn.record(plan, Outcome(roles=(RoleOutcome("default", model),), score=float(q)))
            bar.update(mark - seen)
            seen = mark
            curve.append({"outcomes": mark, **score(test, route(evaluate, test))})
        bar.close()
        out["curves"][feedback] = curve
        out[f"{feedback}_seconds"] = round(time.perf_counter() - start, 1)
    return out


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, curve in result["curves"].items():
        ax.plot([p["outcomes"] for p in curve], [p["quality"] for p in curve], marker="o", label=f"{name} feedback")
    for name, style in (("offline_per_task_prior", "--"), ("cold_start", ":"), ("best_single", "-.")):
        ax.axhline(result[name]["quality"], linestyle=style, color="grey", label=name.replace("_", " "))
    ax.set_xscale("symlog", linthresh=100)
    ax.set_xlim(left=0)
    ax.set_xlabel("train queries with recorded outcomes")
    ax.set_ylabel("test quality")
    ax.set_title(f"{Path(result['data']).name}: online learning from a cold start (λ={result['lambda']:g})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=embedded_data_path())
    ap.add_argument("--lam", type=float, default=0.0)
    ap.add_argument("--exploration", type=float, default=0.2)
    ap.add_argument("--prior-strength", type=float, default=5.0)
    ap.add_argument("--checkpoints", type=int, nargs="+", default=[0, 100, 300, 1000, 3000, 100_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "online")
    args = ap.parse_args()
    result = run(args.data, args.lam, args.exploration, args.prior_strength, args.checkpoints, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{Path(result['data']).name}_lambda{args.lam:g}"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2))
    plot(result, args.out / f"{stem}.png")
    print(f"\n{Path(result['data']).name}, test n={result['n_test']}, λ={args.lam:g} "
          f"(exploration {args.exploration:g} while learning from bandit feedback, prior strength {args.prior_strength:g})")
    print("| router | outcomes seen | test quality | cost/query |\n|---|---:|---:|---:|")
    for name in ("cold_start", "offline_per_task_prior", "best_single", "oracle"):
        r = result[name]
        print(f"| {name.replace('_', ' ')} | — | {r['quality']:.3f} | {r['cost']:.3g} |")
    for name, curve in result["curves"].items():
        for p in curve:
            print(f"| online, {name} feedback | {p['outcomes']} | {p['quality']:.3f} | {p['cost']:.3g} |")
    print(f"seconds: bandit {result['bandit_seconds']}, full {result['full_seconds']}; wrote {args.out / stem}.{{json,png}}")


if __name__ == "__main__":
    main()
