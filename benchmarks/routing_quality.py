"""Routing quality of the trained scorer vs baselines on the shared outcome data (replay, test split only).

For each dataset every router (dc, knn, mlp, mf, the per-task prior and the stack of prior + dc + knn + mlp) is trained on the train split with the same frozen embeddings and
evaluated side by side with random / best single / most expensive / oracle. The dc operating points reported as
"val-chosen" pick λ on dc's 10% validation slice of train (never test). Writes
benchmarks/results/scorer/<dataset>/{report.json,cost_quality.png} and prints markdown rows.

    HF_HUB_OFFLINE=1 python benchmarks/routing_quality.py --data-root ../shared/data \
        --datasets routerbench_via_routerdc llmrouter_nim9 routellm_gpt4_mixtral routerdc_7llm
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from router_plugins.replay import (  # noqa: E402
    OutcomeTable,
    baselines,
    bootstrap_ci,
    cost_to_match,
    evaluate_choices,
    load_outcomes,
)
from router_plugins.scorer.encoders import CachedEncoder, make_encoder  # noqa: E402
from router_plugins.scorer.pipeline import cost_vector, evaluate_scorers, predictions, train_scorer  # noqa: E402
from router_plugins.scorer.report import format_table, plot_cost_quality, route, sweep  # noqa: E402
from router_plugins.scorer.trained_scorer import TrainedScorer  # noqa: E402
from router_plugins.scorer.training import TrainConfig, validation_mask  # noqa: E402

KINDS = ("dc", "knn", "mlp", "mf", "prior", "stack")
USE_TASK = {"llmrouter_nim9": True}
#: RouterDC's in-distribution tasks: the routerdc_7llm target is the average of their test means.
ROUTERDC_ID_TASKS = ("mmlu", "gsm8k", "cmmlu", "arc_challenge", "humaneval")


def cost_share_for(report: dict[str, Any], share: float) -> dict[str, float | None]:
    """Per router: fraction of the best single model's cost needed to reach ``share`` × its quality (on the hull)."""
    best = report["best_single"]
    if best.get("cost") is None:
        return {}
    return {name: cost_to_match([(p["cost"], p["quality"]) for p in r["points"]], share * best["quality"], best["cost"])
            for name, r in report["routers"].items() if r["points"][0]["cost"] is not None}


def strong_calls(table: OutcomeTable, strong: str = "gpt-4-1106-preview") -> OutcomeTable:
    """The same rows with cost = 1 per call of the strong model and 0 otherwise: RouteLLM measures cost as the
    share of queries sent to GPT-4. Routing decisions are unchanged (they use the checkpoints' own cost estimates)."""
    cost = np.tile((np.array(table.models) == strong).astype(np.float64), (len(table), 1))
    return replace(table, cost=cost, cost_estimated=False)


def id_task_average(report: dict[str, Any]) -> dict[str, float]:
    """Average over RouterDC's five ID tasks of each router's / model's per-task quality."""
    per_task = report["per_task"]
    tasks = [t for t in ROUTERDC_ID_TASKS if t in per_task]
    names = set.intersection(*(set(per_task[t]) for t in tasks)) if tasks else set()
    out = {n: float(np.mean([per_task[t][n] for t in tasks])) for n in sorted(names)}
    out["per-task best single"] = float(np.mean([max(per_task[t][m] for m in report["models"]) for t in tasks]))
    return out


def id_task_average_ci(rows: OutcomeTable, scorers: dict[str, TrainedScorer]) -> dict[str, list[float]]:
    """95 % bootstrap interval of each router's λ=0 ID-task average (rows resampled within each task)."""
    ident = np.isin(rows.tasks.astype(str), ROUTERDC_ID_TASKS)
    sub = rows.select(ident)
    out = {}
    for name, scorer in scorers.items():
        picked = sub.quality[np.arange(len(sub)), route(predictions(scorer, sub), None, 0.0)]
        out[name] = [round(x, 4) for x in bootstrap_ci(picked, sub.tasks)]
    return out


ROOT = Path(__file__).resolve().parent


def val_operating_points(scorer: TrainedScorer, train: OutcomeTable, test: OutcomeTable, seed: int = 0) -> dict[str, Any]:
    """λ chosen on dc's validation slice: 'match' = cheapest λ reaching the best single's val quality; 'cap' = best
    val quality at ≤ the best single's val cost. Both then evaluated on test."""
    val = train.select(validation_mask(len(train), 0.1, seed))
    costs = cost_vector(scorer, val)
    if costs is None:
        return {}
    pv, pt = predictions(scorer, val), predictions(scorer, test)
    b = baselines(val)["best_single"]
    pts = sweep(pv, val, costs)
    match = [p for p in pts if p["quality"] >= b["quality"] - 1e-9]
    cap = [p for p in pts if p["cost"] is not None and p["cost"] <= b["cost"] * (1 + 1e-9)]
    out = {}
    for rule, cands, key in (("match", match, lambda p: (p["cost"], -p["quality"])),
                             ("cap", cap, lambda p: (-p["quality"], p["cost"]))):
        if cands:
            lam = min(cands, key=key)["lambda"]
            q, c = evaluate_choices(test, route(pt, costs, lam))
            tb = baselines(test)["best_single"]
            out[rule] = {"lambda": lam, "quality": q, "cost": c, "cost_vs_best_single": c / tb["cost"]}
    return out


def run(dataset: str, root: Path, encoder_spec: str, out_root: Path) -> dict[str, Any]:
    table = load_outcomes(root / dataset)
    train = table.split("train")
    enc = CachedEncoder(make_encoder(encoder_spec))
    scorers, seconds = {}, {}
    for kind in KINDS:
        cfg = TrainConfig(kind=kind, use_task=USE_TASK.get(dataset, False), progress=False)
        scorers[kind], info = train_scorer(train, kind=kind, encoder=enc, encoder_spec=encoder_spec, config=cfg,
                                           progress=False)
        seconds[kind] = round(info["seconds"], 2)
    text_only = ["dc"] if USE_TASK.get(dataset) else []
    results: dict[str, Any] = {"train_seconds": seconds}
    splits = [s for s in ("test", "ood_test") if s in set(table.splits.tolist())]
    for split in splits:
        rows = table.split(split)
        report = evaluate_scorers(rows, scorers, split=split, text_only=text_only,
                                  extra={"train_seconds": seconds, "encoder": encoder_spec})
        report["dc_val_operating_points"] = val_operating_points(scorers["dc"], train, rows)
        if dataset == "routerdc_7llm" and split == "test":
            report["id_task_average"] = id_task_average(report)
            report["id_task_average_ci95"] = id_task_average_ci(rows, scorers)
            print("ID-task average:", json.dumps({k: round(v, 4) for k, v in report["id_task_average"].items()}))
            print("  95% bootstrap interval:", json.dumps(report["id_task_average_ci95"]))
        folder = out_root / dataset / split
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.json").write_text(json.dumps(report, indent=2))
        plot_cost_quality(report, folder / "cost_quality.png")
        print(format_table(report))
        print("dc val-chosen:", json.dumps(report["dc_val_operating_points"]))
        results[split] = report
        if dataset == "routellm_gpt4_mixtral":
            for task in ("gsm8k", "mmlu"):
                sub = rows.select(np.char.startswith(rows.tasks.astype(str), task))
                rep = evaluate_scorers(sub, scorers, split=f"{split}:{task}", extra={"encoder": encoder_spec})
                in_family = np.char.startswith(train.tasks.astype(str), task)
                rep["dc_val_operating_points"] = val_operating_points(scorers["dc"], train.select(in_family), sub)
                rep["cost_share_for_95pct_of_best"] = cost_share_for(rep, 0.95)
                print("cost share for 95% of the best single:", json.dumps(rep["cost_share_for_95pct_of_best"]))
                rep["gpt4_call_share_for_95pct_of_best"] = cost_share_for(
                    evaluate_scorers(strong_calls(sub), scorers, split=f"{split}:{task}"), 0.95)
                print("GPT-4 call share for 95% of the best single (RouteLLM's cost measure):",
                      json.dumps(rep["gpt4_call_share_for_95pct_of_best"]))
                sub_folder = out_root / dataset / f"{split}_{task}"
                sub_folder.mkdir(parents=True, exist_ok=True)
                (sub_folder / "report.json").write_text(json.dumps(rep, indent=2))
                plot_cost_quality(rep, sub_folder / "cost_quality.png")
                print(format_table(rep))
                results[f"{split}:{task}"] = rep
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--datasets", nargs="+", default=["routerbench_via_routerdc", "llmrouter_nim9",
                                                      "routellm_gpt4_mixtral", "routerdc_7llm"])
    ap.add_argument("--encoder", default="minilm")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "scorer")
    ap.add_argument("--label", default=None, help="results subfolder for this encoder (default: its spec; none for minilm)")
    args = ap.parse_args()
    label = args.label or (None if args.encoder == "minilm" else args.encoder)
    for ds in args.datasets:
        t0 = time.perf_counter()
        run(ds, args.data_root, args.encoder, args.out / label if label else args.out)
        print(f"== {ds} done in {time.perf_counter() - t0:.0f}s\n", flush=True)


if __name__ == "__main__":
    main()
