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
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from router_plugins.evaluation import baselines, evaluate_choices  # noqa: E402
from router_plugins.loaders import load_outcomes  # noqa: E402
from router_plugins.outcome_table import OutcomeTable  # noqa: E402
from router_plugins.scorer.encoders import CachedEncoder, make_encoder  # noqa: E402
from router_plugins.scorer.pipeline import cost_vector, evaluate_scorers, predictions, train_scorer  # noqa: E402
from router_plugins.scorer.report import format_table, plot_cost_quality, route, sweep  # noqa: E402
from router_plugins.scorer.trained_scorer import TrainedScorer  # noqa: E402
from router_plugins.scorer.training import TrainConfig, validation_mask  # noqa: E402

KINDS = ("dc", "knn", "mlp", "mf", "prior", "stack")
USE_TASK = {"llmrouter_nim9": True}
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
    args = ap.parse_args()
    for ds in args.datasets:
        t0 = time.perf_counter()
        run(ds, args.data_root, args.encoder, args.out / args.encoder if args.encoder != "minilm" else args.out)
        print(f"== {ds} done in {time.perf_counter() - t0:.0f}s\n", flush=True)


if __name__ == "__main__":
    main()
