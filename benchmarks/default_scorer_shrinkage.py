"""The shipped default scorer on the test splits of its training datasets, with and without shrinkage toward the
robust prior, with and without task labels (λ=0 quality, one row per dataset, side by side).

routerarena_sub10's test split holds only task families absent from its train split (MMLUPro_*), so there every
labelled query is an unseen-label query; llmrouter_nim9 and routellm_gpt4_mixtral test only known tasks.

    HF_HUB_OFFLINE=1 python benchmarks/default_scorer_shrinkage.py /work/shared/data
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from router_plugins.replay import baselines, evaluate_choices, load_outcomes
from router_plugins.scorer.default_checkpoint import SHIPPABLE
from router_plugins.scorer.pipeline import predictions
from router_plugins.scorer.report import route
from router_plugins.scorer.trained_scorer import load_default_scorer


def main(root: Path) -> None:
    """Print the table."""
    scorer = load_default_scorer()
    print("| dataset (test n) | best single | labels, shrinkage | labels, none | text only, shrinkage | text only, none "
          "| flagged @0.95 (text) |\n|---|---|---:|---:|---:|---:|---:|")
    for name in SHIPPABLE:
        test = load_outcomes(root / name).split("test")
        cells = []
        for use_task in (True, False):
            for shrink in (True, False):
                scorer.shrink = shrink
                pick = route(predictions(scorer, test, use_task=use_task), None, 0.0)
                cells.append(f"{evaluate_choices(test, pick)[0]:.4f}")
        scorer.shrink = True
        scores = scorer.novelty_scores(list(test.texts))
        assert scores is not None
        best = baselines(test)["best_single"]
        assert best is not None
        print(f"| {name} ({len(test)}) | {best['name']} {best['quality']:.4f} | " + " | ".join(cells)
              + f" | {float((scores >= 0.95).mean()):.3f} |", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data")
