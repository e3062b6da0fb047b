"""Latency and calibration of the novelty detector, format-1 views (emb + surf) vs every view, side by side.

Both detectors are fitted on a dataset's train split (fast encoder, weights by leaving training families out, no
proxy router: shrinkage plays no part in latency or calibration), then timed at batch 1 on the test queries on top
of a cached embedding (p50 / p99 µs), and checked for calibration: the share of in-distribution test queries at or
above the threshold 0.95 (nominal 5 %).

    HF_HUB_OFFLINE=1 nice python benchmarks/novelty_latency.py llmrouter_nim9
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from router_plugins.replay import load_outcomes  # noqa: E402
from router_plugins.scorer._novelty_views import LEGACY_VIEWS, VIEWS  # noqa: E402
from router_plugins.scorer.encoders import CachedEncoder, make_encoder  # noqa: E402
from router_plugins.scorer.novelty_training import fit_novelty  # noqa: E402
from router_plugins.scorer.pipeline import embed_table  # noqa: E402
from router_plugins.scorer.training import validation_mask  # noqa: E402

ROOT = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--n", type=int, default=500, help="test queries timed at batch 1")
    args = ap.parse_args()
    enc = CachedEncoder(make_encoder("fast"))
    results = {}
    for ds in args.datasets:
        table = load_outcomes(args.data_root / ds)
        train, test = table.split("train"), table.split("test")
        x_train, x_test = embed_table(train, enc, progress=False), embed_table(test, enc, progress=False)
        val = validation_mask(len(train), 0.1, 2)
        texts = list(test.texts)
        for name, views in (("format-1 (emb+surf)", LEGACY_VIEWS), ("all views", VIEWS)):
            t0 = time.perf_counter()
            nov = fit_novelty(x_train, list(train.texts), [str(t) for t in train.tasks], train.quality,
                              list(train.models), val, None, detector_views=views)
            fit_s = time.perf_counter() - t0
            assert nov is not None
            nov.score(x_test[:1], texts[:1])  # warm-up
            us = []
            for i in range(min(args.n, len(texts))):
                t0 = time.perf_counter()
                nov.score(x_test[i:i + 1], texts[i:i + 1])
                us.append((time.perf_counter() - t0) * 1e6)
            flagged = float((nov.score(x_test, texts) >= 0.95).mean())
            row = {"p50_us": float(np.percentile(us, 50)), "p99_us": float(np.percentile(us, 99)),
                   "flagged_id_test_0.95": flagged, "fit_seconds": round(fit_s, 1), "views": list(nov.views),
                   "weights": [round(w, 3) for w in nov.weights]}
            results[f"{ds} / {name}"] = row
            print(f"{ds} / {name}: {json.dumps(row)}", flush=True)
    out = ROOT / "results" / "novelty_latency.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
