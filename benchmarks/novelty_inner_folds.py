"""How the novelty detector's design choices were made: leave-one-family-out AUROC on **training folds only**.

The detector's fit (``scorer/novelty_training.py``) leaves each training family out in turn: the held-out family's
rows are the novel class, the other families' validation rows the in-distribution one. This benchmark rebuilds those
folds on a dataset's train split and scores variants of the detector on them, each fold's view weights learned on
the *other* folds (so no fold grades weights fitted on itself). No test row is read. Variants:

- ``shipped``: the detector as fitted now (every view; ``bank`` = up to 300 training queries per family),
- ``bank=kmeans16``: the ``bank`` view as it was before session 9 (16 k-means centroids per family),
- ``bank=all``: the ``bank`` view over every fit row (what the 300-row cap costs),
- ``no bank``: without the ``bank`` view,
- ``family-calibrated``: the shipped score minus the median score of the calibration rows nearest the same family
  (embedding Mahalanobis; shrunk toward the global median with 10 pseudo-rows), calibrated on the even calibration
  rows, so a tight training family's twin is not read as known merely because its family is tight.

Every variant is scored on the odd calibration rows against the held-out family's rows.

    HF_HUB_OFFLINE=1 python benchmarks/novelty_inner_folds.py --datasets llmrouter_nim9 routerdc_7llm

Prints a per-family table and the mean per variant; writes benchmarks/results/novelty_inner_folds/<encoder>.json.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from leave_task_out import auroc  # noqa: E402
from router_plugins.replay import load_outcomes  # noqa: E402
from router_plugins.scorer._novelty_fit import nonnegative_logistic, robust_scale  # noqa: E402
from router_plugins.scorer._novelty_views import VIEWS, family_distances, unit_rows, view_values  # noqa: E402
from router_plugins.scorer.encoders import CachedEncoder, make_encoder  # noqa: E402
from router_plugins.scorer.novelty import surface_features  # noqa: E402
from router_plugins.scorer.novelty_training import (MIN_FAMILY_ROWS, _standardised, _Views, family_of,  # noqa: E402
                                                    fit_detector, held_out)
from router_plugins.scorer.pipeline import embed_table  # noqa: E402
from router_plugins.scorer.training import TrainConfig, validation_mask  # noqa: E402

ROOT = Path(__file__).resolve().parent
BANK = VIEWS.index("bank")


def bank_column(bank: np.ndarray, x: np.ndarray, cal: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``bank`` view (as the detector computes it) of the calibration and held-out rows against ``bank``,
    standardised as the detector does (median and robust scale on the calibration rows)."""
    c, o = (view_values({"bank": bank.astype(np.float32)}, x[rows], np.zeros((int(rows.sum()), 0)), ("bank",))
            for rows in (cal, out))
    center, scale = np.median(c, axis=0), robust_scale(c)
    return ((c - center) / scale)[:, 0], ((o - center) / scale)[:, 0]


def kmeans_bank(x: np.ndarray, fam: np.ndarray, families: list[str], seed: int) -> np.ndarray:
    """The earlier ``bank``: 16 k-means centroids per family (one per 10 rows for small ones) on ≤ 1000 of its rows."""
    from sklearn.cluster import KMeans

    rng, centroids = np.random.default_rng(seed), []
    for f in families:
        xf = unit_rows(x[fam == f])
        xf = xf[rng.choice(len(xf), 1000, replace=False)] if len(xf) > 1000 else xf
        k = int(min(16, max(1, len(xf) // 10)))
        centroids.append(KMeans(n_clusters=k, n_init=1, random_state=seed).fit(xf).cluster_centers_)
    return unit_rows(np.vstack(centroids))


def nearest_family(det: Any, x: np.ndarray) -> np.ndarray:
    """Index of the family whose Gaussian (spread-normalised Mahalanobis, as the ``emb`` view) is nearest each row."""
    t = det.tensors
    return np.argmin(family_distances(x, t["emb_whiten"], t["emb_means"]) / t["emb_spread"][None, :], axis=1)


def family_calibrated(r_cal: np.ndarray, a_cal: np.ndarray, r_out: np.ndarray, a_out: np.ndarray, n_fam: int,
                      pseudo: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Scores minus their nearest family's median on the even calibration rows; returns (odd calibration, out)."""
    even = np.arange(len(r_cal)) % 2 == 0
    overall = float(np.median(r_cal[even]))
    med = np.full(n_fam, overall)
    for f in range(n_fam):
        rows = r_cal[even & (a_cal == f)]
        if len(rows):
            med[f] = (len(rows) * np.median(rows) + pseudo * overall) / (len(rows) + pseudo)
    return r_cal[~even] - med[a_cal[~even]], r_out - med[a_out]


def folds_of(dataset: str, root: Path, enc: CachedEncoder) -> list[dict[str, Any]]:
    """Each training family's fold: standardised views of the calibration and held-out rows, per bank variant."""
    table = load_outcomes(root / dataset).split("train")
    cfg = TrainConfig()
    x = embed_table(table, enc, progress=False).astype(np.float64)
    texts = list(table.texts)
    views = _Views(x, surface_features(texts), np.array([family_of(str(t)) for t in table.tasks]), texts)
    val = validation_mask(len(table), max(cfg.val_fraction, 0.1), cfg.seed + 2)
    names, counts = np.unique(views.fam, return_counts=True)
    rng = np.random.default_rng(cfg.seed)
    from tqdm import tqdm

    folds = []
    for g in tqdm([str(f) for f, c in zip(names, counts) if c >= MIN_FAMILY_ROWS], desc=dataset):
        others = views.fam != g
        fit, cal = others & ~val, others & val
        if cal.sum() < 5:
            continue
        out = held_out(~others, rng)
        det = fit_detector(views, fit, cal, None, list(table.models), np.zeros(len(table.models)), VIEWS, cfg.seed)
        if det.views != VIEWS:
            continue
        f_cal, f_out = _standardised(det, views, cal), _standardised(det, views, out)
        rows = fit & np.isin(views.fam, det.families)
        variants = {"shipped": (f_cal, f_out)}
        for name, bank in (("bank=kmeans16", kmeans_bank(x[rows], views.fam[rows], det.families, cfg.seed)),
                           ("bank=all", unit_rows(x[rows]))):
            c, o = f_cal.copy(), f_out.copy()
            c[:, BANK], o[:, BANK] = bank_column(bank, x, cal, out)
            variants[name] = (c, o)
        variants["no bank"] = (np.delete(f_cal, BANK, axis=1), np.delete(f_out, BANK, axis=1))
        folds.append({"family": g, "variants": variants, "n_fam": len(det.families),
                      "near_cal": nearest_family(det, x[cal]), "near_out": nearest_family(det, x[out])})
    return folds


def evaluate(folds: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per variant and held-out family, the AUROC (odd calibration rows against the held-out rows) of the score whose
    weights were learned on the other folds."""
    result: dict[str, dict[str, float]] = {}
    for name in folds[0]["variants"]:
        result[name], calibrated = {}, {}
        for i, fold in enumerate(folds):
            feats, labels, groups = [], [], []
            for j, other in enumerate(folds):
                if j != i:
                    c, o = other["variants"][name]
                    feats += [c, o]
                    labels += [np.zeros(len(c)), np.ones(len(o))]
                    groups.append(np.full(len(c) + len(o), j))
            w = np.asarray(nonnegative_logistic(np.vstack(feats), np.concatenate(labels),
                                                groups=np.concatenate(groups)))
            c, o = fold["variants"][name]
            odd = np.arange(len(c)) % 2 == 1  # the rows family-calibrated scores (its even rows calibrate)
            result[name][fold["family"]] = auroc(c[odd] @ w, o @ w)
            if name == "shipped":
                calibrated[fold["family"]] = auroc(*family_calibrated(c @ w, fold["near_cal"], o @ w,
                                                                      fold["near_out"], fold["n_fam"]))
        if name == "shipped":
            result["family-calibrated"] = calibrated
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--datasets", nargs="+", default=["llmrouter_nim9", "routerdc_7llm"])
    ap.add_argument("--encoder", default="fast")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "novelty_inner_folds")
    args = ap.parse_args()
    enc = CachedEncoder(make_encoder(args.encoder))
    found = {}
    for ds in args.datasets:
        res = evaluate(folds_of(ds, args.data_root, enc))
        found[ds] = res
        names = list(res)
        print(f"\n### {ds}: inner leave-one-family-out AUROC (train split only)\n")
        print("| held-out family | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names))
        for g in res["shipped"]:
            print(f"| {g} | " + " | ".join(f"{res[n][g]:.3f}" for n in names) + " |")
        print("| **mean** | " + " | ".join(f"**{np.mean(list(res[n].values())):.4f}**" for n in names) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.encoder}.json").write_text(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
