"""How the text-shrinkage rule was chosen: the rule replayed on the detector's own training folds, nested.

Inside training (``scorer/novelty_training.py``) each training family is held out in turn, and the text strength
(start, max, ramp) is the never-worse rule's pick over all those folds (``choose_strength``). Here, for every outer
left-out family of ``leave_task_out.py`` (the same folds, partners included), the inner folds are rebuilt on its
training rows only, and each rule variant picks its strength on all inner folds but one and is graded on that one:
is the held-out family within half a point of not routing, what it gains on held-out rows and what it costs the
in-distribution (validation) rows, both against no shrinkage. No test row is read. Variants: the tolerance on the
folds (none, as shipped; the issue's half point; a quarter point; one point), the starts offered (``SHRINK_STARTS``,
with the floors below 0, or only those from 0 on, as until session 11) and the ramp widths offered (``SHRINK_RAMP``
alone, or also steeper ramps).

    HF_HUB_OFFLINE=1 nice python benchmarks/shrink_rule_folds.py --datasets llmrouter_nim9 routerdc_7llm

Writes benchmarks/results/shrink_rule_folds/<encoder>.json and prints one table per dataset.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from leave_task_out import PARTNERS, USE_TASK, families, fold_rows, folds_of, novelty_groups  # noqa: E402
from router_plugins.replay import load_outcomes  # noqa: E402
from router_plugins.scorer.encoders import CachedEncoder, make_encoder  # noqa: E402
from router_plugins.scorer.novelty import SHRINK_RAMP  # noqa: E402
from router_plugins.scorer.novelty_training import (SHRINK_MAXES, SHRINK_STARTS, TEXT_TOLERANCE,  # noqa: E402
                                                    StrengthRow, choose_strength, strength_table)
from router_plugins.scorer.pipeline import embed_table, train_novelty  # noqa: E402
from router_plugins.scorer.training import TrainConfig  # noqa: E402

ROOT = Path(__file__).resolve().parent
RAMPS = (SHRINK_RAMP, 0.25, 0.1)
#: Starts from 0 on: the grid before floors (starts below 0) were offered.
NO_FLOORS = tuple(s for s in SHRINK_STARTS if s >= 0)
#: name → (tolerance on the training folds, ramp widths offered, starts offered); the first is the shipped rule
RULES: dict[str, tuple[float, tuple[float, ...], tuple[float, ...]]] = {
    "shipped (0 points, floors, ramp 0.5)": (TEXT_TOLERANCE, (SHRINK_RAMP,), SHRINK_STARTS),
    "0.5 points, floors, ramp 0.5": (0.005, (SHRINK_RAMP,), SHRINK_STARTS),
    "0 points, floors, ramps 0.5 / 0.25": (0.0, (SHRINK_RAMP, 0.25), SHRINK_STARTS),
    "session 10 (0.5 points, no floors, ramp 0.5)": (0.005, (SHRINK_RAMP,), NO_FLOORS),
    "0.25 points, no floors, ramp 0.5": (0.0025, (SHRINK_RAMP,), NO_FLOORS),
    "0 points, no floors, ramp 0.5": (0.0, (SHRINK_RAMP,), NO_FLOORS),
    "1 point, no floors, ramp 0.5": (0.01, (SHRINK_RAMP,), NO_FLOORS),
    "0.5 points, no floors, ramps 0.5 / 0.25": (0.005, (SHRINK_RAMP, 0.25), NO_FLOORS),
    "0.5 points, no floors, ramps 0.5 / 0.25 / 0.1": (0.005, RAMPS, NO_FLOORS),
    "0 points, no floors, ramps 0.5 / 0.25": (0.0, (SHRINK_RAMP, 0.25), NO_FLOORS),
}


def nested(table: list[StrengthRow], tolerance: float, ramps: tuple[float, ...],
           starts: tuple[float, ...]) -> list[dict[str, float]]:
    """Per inner fold: the strength the rule picks on the other folds, graded on this one against no shrinkage."""
    rows = [r for r in table if r[0][1] == 0 or (r[0][2] in ramps and r[0][0] in starts)]
    none = table[0]  # max 0: no shrinkage
    k = len(none[3])
    out = []
    for i in range(k):
        pick = choose_strength(rows, tolerance, [j for j in range(k) if j != i])
        _, q_id, q_out, margin = next(r for r in rows if r[0] == pick)
        out.append({"margin": float(margin[i]), "held_out_gain": float(q_out[i] - none[2][i]),
                    "id_change": float(q_id[i] - none[1][i]), "start": pick[0], "max": pick[1], "ramp": pick[2]})
    return out


def run(dataset: str, root: Path, enc: CachedEncoder, members: tuple[str, ...]) -> dict[str, Any]:
    table = load_outcomes(root / dataset)
    fam, splits = families(table), table.splits.astype(str)
    x_all = embed_table(table, enc, progress=False)
    cfg = TrainConfig(kind="stack", use_task=USE_TASK.get(dataset, False), stack_members=members, progress=False,
                      novelty_groups=novelty_groups(PARTNERS))
    graded: dict[str, list[dict[str, float]]] = {name: [] for name in RULES}
    from tqdm import tqdm

    for g in tqdm(folds_of(dataset, table), desc=dataset):
        keep = fold_rows(g, fam, splits)[0]
        train = table.select(keep)
        folds: list[dict[str, Any]] = []
        train_novelty(x_all[keep], train, cfg, keep_folds=folds)
        if len(folds) < 2:
            continue
        strengths = strength_table(folds, folds[0]["weights"], train.quality, SHRINK_STARTS, SHRINK_MAXES, RAMPS)
        for name, (tolerance, ramps, starts) in RULES.items():
            graded[name] += [dict(r, outer=g)  # type: ignore[arg-type]
                             for r in nested(strengths, tolerance, ramps, starts)]
    summary = {}
    for name, rows in graded.items():
        m = np.array([r["margin"] for r in rows])
        summary[name] = {"never_worse": int((m >= -0.005).sum()), "inner_folds": len(rows),
                         "worst_margin": float(m.min()), "mean_margin": float(m.mean()),
                         "held_out_gain": float(np.nanmean([r["held_out_gain"] for r in rows])),
                         "id_change": float(np.nanmean([r["id_change"] for r in rows]))}
    return {"summary": summary, "graded": graded}


def markdown(dataset: str, res: dict[str, Any]) -> str:
    rows = [f"\n#### {dataset}\n", ("| rule | never worse (−0.5 points) | worst margin | mean margin | held-out gain "
                                      "vs no shrinkage | in-distribution change |"), "|---|---:|---:|---:|---:|---:|"]
    for name, s in res["summary"].items():
        rows.append(f"| {name} | {s['never_worse']}/{s['inner_folds']} | {100 * s['worst_margin']:+.2f} | "
                    f"{100 * s['mean_margin']:+.2f} | {100 * s['held_out_gain']:+.2f} | {100 * s['id_change']:+.2f} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--datasets", nargs="+", default=["llmrouter_nim9", "routerbench_via_routerdc", "routerdc_7llm"])
    ap.add_argument("--encoder", default="fast")
    ap.add_argument("--members", nargs="+", default=["prior", "knn"], help="the router's stack members (its proxy "
                    "per inner fold is TrainConfig.novelty_proxy either way)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "shrink_rule_folds")
    args = ap.parse_args()
    enc = CachedEncoder(make_encoder(args.encoder))
    found = {ds: run(ds, args.data_root, enc, tuple(args.members)) for ds in args.datasets}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.encoder}.json").write_text(json.dumps(found, indent=1))
    for ds, res in found.items():
        print(markdown(ds, res))
    print(f"\nwrote {args.out / (args.encoder + '.json')}")


if __name__ == "__main__":
    main()
