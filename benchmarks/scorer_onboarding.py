"""Onboarding a model without retraining, measured leave-one-model-out on routerbench_via_routerdc: for each model,
train dc on the other ten, then add it back (a) from ≤ 200 labelled train queries, (b) zero-shot from its card
(price per query, size); compare with the full retrain (all eleven models) on the test split.

Run: ``HF_HUB_OFFLINE=1 python benchmarks/scorer_onboarding.py``. Prints markdown rows and a JSON summary.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from router_plugins.cards import ModelCard  # noqa: E402
from router_plugins.replay import OutcomeTable, aiq, evaluate_choices, load_outcomes  # noqa: E402
from router_plugins.query import Query  # noqa: E402
from router_plugins.scorer.cards_features import parse_size_b  # noqa: E402
from router_plugins.scorer.encoders import CachedEncoder, make_encoder  # noqa: E402
from router_plugins.scorer.onboarding import onboard_labelled, onboard_zero_shot  # noqa: E402
from router_plugins.scorer.pipeline import cost_vector, predictions, train_scorer  # noqa: E402
from router_plugins.scorer.report import mean_cost_per_query, sweep  # noqa: E402
from router_plugins.scorer.training import TrainConfig  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "routerbench_via_routerdc"


def drop_model(t: OutcomeTable, name: str) -> OutcomeTable:
    keep = [j for j, m in enumerate(t.models) if m != name]
    return OutcomeTable(name=t.name, texts=t.texts, tasks=t.tasks, splits=t.splits,
                        models=tuple(t.models[j] for j in keep), quality=t.quality[:, keep],
                        cost=None if t.cost is None else t.cost[:, keep], clusters=t.clusters, metric=t.metric)


def score(scorer, test: OutcomeTable, cmax: float) -> dict[str, float]:
    pred = predictions(scorer, test)
    costs = cost_vector(scorer, test)
    pts = sweep(pred, test, costs)
    q0, _ = evaluate_choices(test, np.argmax(pred, axis=1))
    return {"q_lambda0": q0, "aiq": aiq([(p["cost"], p["quality"]) for p in pts], max_cost=cmax)}


def main() -> None:
    table = load_outcomes(DATA)
    train, test = table.split("train"), table.split("test")
    enc = CachedEncoder(make_encoder("minilm"))
    cfg = TrainConfig(kind="dc", progress=False)
    full, info = train_scorer(train, kind="dc", encoder=enc, encoder_spec="minilm", config=cfg, progress=False)
    cmax = float(max(mean_cost_per_query(test).values()))
    ref = score(full, test, cmax)
    costs = mean_cost_per_query(train)
    rows, rng = [], np.random.default_rng(0)
    for j, m in enumerate(table.models):
        part, _ = train_scorer(drop_model(train, m), kind="dc", encoder=enc, encoder_spec="minilm", config=cfg,
                               progress=False)
        card = ModelCard(name=m, size_b=parse_size_b(m))
        ok = np.flatnonzero(np.isfinite(train.quality[:, j]))
        pick = rng.permutation(ok)[:200]
        t0 = time.perf_counter()
        lab = onboard_labelled(part, card, [Query(train.texts[i]) for i in pick], train.quality[pick, j],
                               cost_per_query=costs[m])
        secs = time.perf_counter() - t0
        zs = onboard_zero_shot(part, card, cost_per_query=costs[m])
        truth = test.quality[:, j]
        row = {"model": m, "onboard_seconds": round(secs, 3)}
        for label, s in (("labelled", lab), ("zero_shot", zs)):
            row[label] = score(s, test, cmax)
            p = predictions(s, test)[:, j]
            row[label]["brier_new_model"] = float(np.nanmean((p - truth) ** 2))
        p = predictions(full, test)[:, j]
        row["full_brier_new_model"] = float(np.nanmean((p - truth) ** 2))
        rows.append(row)
        print(f"| {m} | {row['labelled']['aiq']:.4f} | {row['zero_shot']['aiq']:.4f} | {ref['aiq']:.4f} | "
              f"{row['labelled']['brier_new_model']:.3f} | {row['zero_shot']['brier_new_model']:.3f} | "
              f"{row['full_brier_new_model']:.3f} | {secs:.2f} |", flush=True)
    summary = {"full_retrain": ref, "full_train_seconds": info["seconds"],
               "mean_labelled_aiq": float(np.mean([r["labelled"]["aiq"] for r in rows])),
               "mean_zero_shot_aiq": float(np.mean([r["zero_shot"]["aiq"] for r in rows])),
               "mean_labelled_q0": float(np.mean([r["labelled"]["q_lambda0"] for r in rows])),
               "mean_zero_shot_q0": float(np.mean([r["zero_shot"]["q_lambda0"] for r in rows])),
               "max_onboard_seconds": max(r["onboard_seconds"] for r in rows), "rows": rows}
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}))
    out = Path(__file__).resolve().parent / "results" / "scorer" / "onboarding_loo.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
