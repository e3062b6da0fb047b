"""How separable is each unseen task family from the others in the detector's representations? Bounds for issue 14.

For each left-out family (as in ``leave_task_out.py``) and each encoder whose embeddings are cached, two figures on
the **test** rows (novel = the left-out family's test rows, in-distribution = the other families' test rows):

- **oracle AUROC**: a supervised logistic regression that *is allowed to see the left-out family's train rows*
  (label 1) against the other families' train rows (label 0), on the embedding + the shipped surface features
  (standardised), C chosen by 3-fold CV on the train rows only. It is not a detector (a detector never sees the
  unseen family); it measures how far apart the family lies in these features when one knows what to look for. Also
  per view (embedding only, surface only). An oracle well below 0.90 makes the issue's 0.90 target a bound of the
  representation; an oracle near 1 means only generalisation to an unseen family is missing.
- **text twins**: the share of the left-out family's test queries whose nearest training query of *another* family
  has cosine ≥ 0.9 / 0.95, and (for contrast) the same share of the in-distribution test queries against the training
  rows of the *other* families than their own. A text twin looks like training traffic to any text-only detector.

routerdc_7llm's ``ood_test`` split has no train rows: its oracle fits on a random half of those rows and is scored
on the other half (marked ``split-half``). Nothing here is a router and nothing is tuned on a test split.

    HF_HUB_OFFLINE=1 nice python benchmarks/novelty_bounds.py --datasets llmrouter_nim9 routerdc_7llm
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from router_plugins.replay import load_outcomes  # noqa: E402
from router_plugins.scorer.encoders import CachedEncoder, make_encoder  # noqa: E402
from router_plugins.scorer.novelty import surface_features  # noqa: E402
from router_plugins.scorer.novelty_training import family_of  # noqa: E402
from router_plugins.scorer.pipeline import embed_table  # noqa: E402

ROOT = Path(__file__).resolve().parent
ROUTERDC_ID_TASKS = ("mmlu", "gsm8k", "cmmlu", "arc_challenge", "humaneval")
#: Train rows the oracle fits on, at most (negatives subsampled; every positive kept): keeps CV cheap on routerdc.
MAX_ORACLE_ROWS = 6000
TWIN_LEVELS = (0.9, 0.95)


def auroc(neg: NDArray[np.float64], pos: NDArray[np.float64]) -> float:
    """Area under the ROC curve of a score that should be higher on ``pos``."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.zeros(len(neg)), np.ones(len(pos))], np.r_[neg, pos]))


def oracle_auroc(f: NDArray[np.float64], label: NDArray[np.bool_], fit: NDArray[np.bool_], ev: NDArray[np.bool_],
                 seed: int = 0) -> tuple[float, float]:
    """(test AUROC, chosen C) of a balanced logistic regression fitted on ``fit`` rows (C by 3-fold CV there)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(fit & label), np.flatnonzero(fit & ~label)
    room = max(MAX_ORACLE_ROWS - len(pos), len(pos))
    if len(neg) > room:
        neg = rng.choice(neg, room, replace=False)
    rows = np.sort(np.r_[pos, neg])
    scaler = StandardScaler().fit(f[rows])
    search = GridSearchCV(LogisticRegression(class_weight="balanced", max_iter=2000),
                          {"C": [0.01, 0.1, 1.0, 10.0]}, scoring="roc_auc",
                          cv=StratifiedKFold(3, shuffle=True, random_state=seed))
    search.fit(scaler.transform(f[rows]), label[rows])
    score = search.decision_function(scaler.transform(f[ev]))
    return auroc(score[~label[ev]], score[label[ev]]), float(search.best_params_["C"])


def nearest_other(xn: NDArray[np.float64], query: NDArray[np.int64], bank: NDArray[np.int64], fam: NDArray[np.str_],
                  chunk: int = 2048) -> NDArray[np.float64]:
    """Per query row, the highest cosine to a ``bank`` row of a family other than the query's own."""
    out = np.empty(len(query))
    for start in range(0, len(query), chunk):
        q = query[start:start + chunk]
        sim = xn[q] @ xn[bank].T
        sim[fam[q][:, None] == fam[bank][None, :]] = -1.0
        out[start:start + chunk] = sim.max(axis=1)
    return out


def fold_rows(dataset: str, fam: NDArray[np.str_], split: NDArray[np.str_], g: str,
              rng: np.random.Generator) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_], str]:
    """(novel-label mask, oracle fit rows, evaluation rows, how) for one left-out family."""
    if g == "ood_test":
        ood = np.flatnonzero(split == "ood_test")
        half = np.zeros(len(fam), dtype=bool)
        half[rng.choice(ood, len(ood) // 2, replace=False)] = True
        label = split == "ood_test"
        fit = (split == "train") | half
        ev = ((split == "test") & np.isin(fam, ROUTERDC_ID_TASKS)) | (label & ~half)
        return label, fit, ev, "split-half"
    label = fam == g
    return label, split == "train", split == "test", "train rows"


def run(dataset: str, root: Path, encoders: list[str]) -> dict[str, Any]:
    """Every figure of the module docstring for one dataset."""
    from tqdm import tqdm

    table = load_outcomes(root / dataset)
    fam = np.array([family_of(str(t)) for t in table.tasks])
    split = table.splits.astype(str)
    if dataset == "routerdc_7llm":
        folds = [*ROUTERDC_ID_TASKS, "ood_test"]
        fam = np.where(split == "ood_test", "ood_test", fam)
    else:
        folds = sorted(set(fam[split == "test"].tolist()))
    surf = surface_features(list(table.texts))
    out: dict[str, Any] = {}
    for spec in encoders:
        x = embed_table(table, CachedEncoder(make_encoder(spec)), progress=True).astype(np.float64)
        xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        views = {"emb+surf": np.hstack([x, surf]), "emb": x, "surf": surf}
        res: dict[str, Any] = {}
        for g in tqdm(folds, desc=f"{dataset} {spec}"):
            rng = np.random.default_rng(0)
            label, fit, ev, how = fold_rows(dataset, fam, split, g, rng)
            row: dict[str, Any] = {"oracle_fit": how, "n_novel_test": int((ev & label).sum())}
            for name, f in views.items():
                row[f"oracle_{name}"], row[f"C_{name}"] = oracle_auroc(f, label, fit, ev)
            # twins: nearest *training* query of another family (the left-out family has no train rows then)
            bank = np.flatnonzero((split == "train") & ~label)
            novel_q = np.flatnonzero(ev & label)
            ident_q = np.flatnonzero(ev & ~label)
            sim_novel = nearest_other(xn, novel_q, bank, fam)
            sim_ident = nearest_other(xn, ident_q, bank, fam)
            for level in TWIN_LEVELS:
                row[f"twins_novel_{level:g}"] = float((sim_novel >= level).mean())
                row[f"twins_id_other_family_{level:g}"] = float((sim_ident >= level).mean())
            row["nn_cosine_median_novel"] = float(np.median(sim_novel))
            # 1-NN distance to other families as a (zero-shot) detector: the probe's knn1 view, for reference
            row["knn1_auroc_other_family"] = auroc(-sim_ident, -sim_novel)
            res[g] = row
        res["mean"] = {k: float(np.mean([r[k] for g, r in res.items() if isinstance(r.get(k), float)]))
                       for k in next(iter(res.values())) if isinstance(next(iter(res.values()))[k], float)}
        out[spec] = res
    return out


def shipped_aurocs(dataset: str) -> dict[str, float]:
    """The shipped detector's text-only AUROC per family from leave_task_out's results (fast encoder), if present."""
    path = ROOT / "results" / "leave_task_out" / "fast" / "results.json"
    if not path.is_file():
        return {}
    folds = json.loads(path.read_text()).get(dataset, {}).get("folds", {})
    return {g: f["novelty_auroc"] for g, f in folds.items() if "novelty_auroc" in f}


def markdown(dataset: str, res: dict[str, Any]) -> str:
    """One table per dataset: shipped text-only AUROC next to the oracle's and the twin shares."""
    shipped = shipped_aurocs(dataset)
    specs = list(res)
    head = ["left-out family", "shipped detector (fast)"]
    for spec in specs:
        head += [f"oracle emb+surf ({spec})", f"oracle emb / surf ({spec})",
                 f"twins ≥0.9 / ≥0.95 novel ({spec})", f"twins ≥0.9 ID ({spec})"]
    lines = [f"\n#### {dataset}\n", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in res[specs[0]]:
        cells = [g, f"{shipped[g]:.3f}" if g in shipped else "—"]
        for spec in specs:
            r = res[spec][g]
            cells += [f"{r['oracle_emb+surf']:.3f}", f"{r['oracle_emb']:.3f} / {r['oracle_surf']:.3f}",
                      f"{r['twins_novel_0.9']:.2f} / {r['twins_novel_0.95']:.2f}",
                      f"{r['twins_id_other_family_0.9']:.2f}"]
        if g == "mean" and shipped:
            cells[1] = f"{np.mean(list(shipped.values())):.3f}"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--datasets", nargs="+", default=["llmrouter_nim9", "routerdc_7llm", "routerbench_via_routerdc"])
    ap.add_argument("--encoders", nargs="+", default=["fast", "minilm"])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "novelty_bounds.json")
    args = ap.parse_args()
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for ds in args.datasets:
        t0 = time.perf_counter()
        results[ds] = run(ds, args.data_root, args.encoders)
        results[ds]["seconds"] = round(time.perf_counter() - t0, 1)
        args.out.write_text(json.dumps(results, indent=2))
    for ds in args.datasets:
        print(markdown(ds, {k: v for k, v in results[ds].items() if k != "seconds"}))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
