"""Fitted configuration priors and the learned configuration selector on real multi-agent outcomes (DyLAN team sizes,
MoA / SMoA / RouteMoA), all out-of-fold (5 folds stratified by subject / dataset): predicted vs recorded quality and
cost per configuration, and the selector's λ sweep against every fixed configuration, the task-only ceiling and the
oracle. Prints the tables, writes JSON and one cost–quality PNG per set.

    python benchmarks/configuration_priors.py [--data-root ../shared/data] [--out benchmarks/results/configurations]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from router_plugins.configuration_eval import evaluate_configurations, format_configurations
from router_plugins.replay import load_outcomes

ROOT = Path(__file__).resolve().parent
SETS = ("dylan_multiagent_mmlu", "routemoa_multiagent")


def plot(path: Path, name: str, result: dict[str, Any], unit: str) -> None:
    """The selector's out-of-fold λ sweep, every fixed configuration, the task-only ceiling and the oracle."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = result["configuration_selector"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    pts = sorted((p["cost"], p["quality"]) for p in sel["points"])
    ax.plot(*zip(*pts), "-o", ms=3, label="learned selector (λ sweep, out-of-fold)")
    for m, b in sel["fixed"].items():
        ax.plot([b["cost"]], [b["quality"]], "x", color="black")
        ax.annotate(m, (b["cost"], b["quality"]), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.plot([sel["task_bound"]["cost"]], [sel["task_bound"]["quality"]], "s", label="task-only ceiling (own labels)")
    ax.plot([sel["oracle"]["cost"]], [sel["oracle"]["quality"]], "*", ms=11, label="oracle (per item)")
    ax.set_xlabel(f"mean cost per item ({unit})")
    ax.set_ylabel("quality")
    ax.set_title(f"{name}: configurations, 5-fold out-of-fold")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parent.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "configurations")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    for name in SETS:
        table = load_outcomes(args.data_root / name)
        t0 = time.perf_counter()
        result = evaluate_configurations(table)
        result["seconds"] = time.perf_counter() - t0
        out[name] = result
        print(format_configurations(f"{name} ({len(table)} items)", result, table.cost_unit))
        worst_q = max(abs(r["predicted_quality"] - r["recorded_quality"]) for r in result["calibration"].values())
        worst_c = max(abs(r["predicted_cost"] / r["recorded_cost"] - 1) for r in result["calibration"].values())
        print(f"largest calibration gap: quality {worst_q:.4f}, cost {worst_c:.2%} ({result['seconds']:.1f} s)\n")
        plot(args.out / f"{name}.png", name, result, table.cost_unit)
    (args.out / "configurations.json").write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
