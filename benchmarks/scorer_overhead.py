"""Routing overhead with the trained scorer in the loop: p50 ms per plan at batch 1 with the fast (static) and the
default (MiniLM) encoder, and plans/s with ``plan_batch``. Every query text is distinct (no embedding-cache hits).

Run: ``HF_HUB_OFFLINE=1 python benchmarks/scorer_overhead.py [--n 500]``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from router_plugins import ModelCard, Router  # noqa: E402
from router_plugins.replay import load_outcomes  # noqa: E402
from router_plugins.scorer.plugin import ScorerPlugin  # noqa: E402
from router_plugins.scorer.trained_scorer import TrainedScorer, load_default_scorer  # noqa: E402


def _router(scorer: TrainedScorer) -> Router:
    pool = [ModelCard(name=m, input_price=1.0, output_price=1.0) for m in scorer.models]
    return Router(pool, plugins=[ScorerPlugin(scorer)], load_entrypoints=False, lam=0.0)


def _queries(n: int, tag: str) -> list[str]:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "llmrouter_nim9"
    texts = list(load_outcomes(root).split("test").texts) if root.is_dir() else ["What is 2 + 3?"]
    return [f"{texts[i % len(texts)]} [{tag} {i}]" for i in range(n)]


def per_plan_ms(router: Router, queries: list[str]) -> dict[str, float]:
    """p50 / p90 wall ms of router.plan at batch 1 (after 20 warm-up calls)."""
    for q in queries[:20]:
        router.plan(q + " warm-up")
    times = []
    for q in queries:
        t = time.perf_counter()
        router.plan(q)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 3), "p90_ms": round(times[int(0.9 * len(times))], 3)}


def plans_per_second(router: Router, queries: list[str], batch: int = 256) -> float:
    """Throughput of plan_batch over distinct queries."""
    t = time.perf_counter()
    for i in range(0, len(queries), batch):
        router.plan_batch(queries[i:i + batch])
    return round(len(queries) / (time.perf_counter() - t), 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--minilm-checkpoint", default=None, help="a dc checkpoint trained with the MiniLM encoder")
    args = ap.parse_args()
    out: dict[str, object] = {}
    fast = _router(load_default_scorer())
    out["fast_encoder_batch1"] = per_plan_ms(fast, _queries(args.n, "fast"))
    out["fast_encoder_plans_per_s_batched"] = plans_per_second(fast, _queries(max(args.n, 4000), "batch"))
    if args.minilm_checkpoint:
        slow = _router(TrainedScorer.load(args.minilm_checkpoint))
        out["minilm_encoder_batch1"] = per_plan_ms(slow, _queries(min(args.n, 200), "minilm"))
        out["minilm_encoder_plans_per_s_batched"] = plans_per_second(slow, _queries(512, "minilm-batch"), batch=64)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
