"""Can a richer text-only novelty detector separate near task families? Leave-one-family-out AUROC per feature.

For each left-out family of a dataset, statistics are fitted on the train rows of the other families, and each
candidate score is evaluated on test rows (novel = the left-out family, in-distribution = the others' test rows):

- ``emb`` / ``surf``: the shipped detector's two views (Mahalanobis to the nearest family, spread-normalised),
- ``rel``: relative Mahalanobis (nearest-family distance minus the distance to one global Gaussian),
- ``ent``: entropy of a logistic family classifier on the normalised embedding,
- ``knn1``: cosine distance to the nearest training query (``--knn``; needs the train embeddings at inference),
- ``meta``: a logistic combination of all of them trained with held-out *training* families as the novel class
  ("outlier exposure", up to 8 inner folds; nothing here looks at the left-out family).

A research probe for issue 14 (not the shipped detector):

    HF_HUB_OFFLINE=1 python benchmarks/novelty_features.py llmrouter_nim9 --knn
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from router_plugins.replay import load_outcomes
from router_plugins.scorer.encoders import CachedEncoder, make_encoder
from router_plugins.scorer.novelty import surface_features
from router_plugins.scorer._novelty_fit import whitening
from router_plugins.scorer._novelty_views import family_distance
from router_plugins.scorer.novelty_training import _spread, family_of
from router_plugins.scorer.pipeline import embed_table
from router_plugins.scorer.training import validation_mask

ROOT = Path(__file__).resolve().parent


def auroc(neg: NDArray[np.float64], pos: NDArray[np.float64]) -> float:
    """Area under the ROC curve of a score that should be higher on ``pos``."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.zeros(len(neg)), np.ones(len(pos))], np.r_[neg, pos]))


class Features:
    """Every candidate score's statistics, fitted on the rows ``fit`` (families with ≥ 10 rows)."""

    def __init__(self, x: NDArray[np.float64], s: NDArray[np.float64], fam: NDArray[np.str_], fit: NDArray[np.bool_],
                 knn: bool) -> None:
        from sklearn.covariance import LedoitWolf
        from sklearn.linear_model import LogisticRegression

        names, counts = np.unique(fam[fit], return_counts=True)
        fams = [str(f) for f, c in zip(names, counts, strict=True) if c >= 10]
        rows = fit & np.isin(fam, fams)
        self.x, self.xn, self.knn, self.rows = x, x / np.linalg.norm(x, axis=1, keepdims=True), knn, rows
        self.w, self.m = whitening(x[rows], fam[rows], fams)
        self.spread = _spread(x[rows], fam[rows], fams, self.w, self.m)
        self.center, self.scale = s[rows].mean(0), np.maximum(s[rows].std(0), 1e-6)
        self.s = (s - self.center) / self.scale
        self.ws, self.ms = whitening(self.s[rows], fam[rows], fams)
        self.spread_s = _spread(self.s[rows], fam[rows], fams, self.ws, self.ms)
        self.mu = x[rows].mean(0)
        self.precision = LedoitWolf().fit(x[rows] - self.mu).precision_
        self.clf = LogisticRegression(C=1.0, max_iter=300).fit(self.xn[rows], fam[rows])

    def names(self) -> list[str]:
        """Column names of ``__call__``."""
        return ["emb", "surf", "rel", "ent"] + (["knn1"] if self.knn else [])

    def __call__(self, ev: NDArray[np.bool_]) -> NDArray[np.float64]:
        """(n, k) candidate scores of the rows ``ev`` (higher = more novel)."""
        x = self.x[ev]
        d_emb = family_distance(x, self.w, self.m, self.spread)
        d_surf = family_distance(self.s[ev], self.ws, self.ms, self.spread_s)
        d_global = np.einsum("ij,jk,ik->i", x - self.mu, self.precision, x - self.mu)
        rel = (family_distance(x, self.w, self.m, None) - d_global) / x.shape[1]
        p = self.clf.predict_proba(self.xn[ev])
        cols = [np.log(d_emb), np.log(d_surf), rel, -(p * np.log(p + 1e-12)).sum(1)]
        if self.knn:
            cols.append(1.0 - (self.xn[ev] @ self.xn[self.rows].T).max(1))
        return np.column_stack(cols)


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--knn", action="store_true", help="also the nearest-neighbour distance")
    args = ap.parse_args()
    table = load_outcomes(args.data_root / args.dataset)
    x = embed_table(table, CachedEncoder(make_encoder("fast")), progress=False).astype(np.float64)
    s = surface_features(list(table.texts))
    fam = np.array([family_of(str(k)) for k in table.tasks])
    split = table.splits.astype(str)
    rng = np.random.default_rng(0)
    results: dict[str, dict[str, float]] = {}
    for g in sorted(set(fam[split == "test"].tolist())):
        train = (split == "train") & (fam != g)
        idx = np.flatnonzero(train)
        val = np.zeros(len(fam), dtype=bool)
        val[idx[validation_mask(len(idx), 0.1, 2)]] = True
        fit = train & ~val
        inner = [h for h in sorted(set(fam[fit].tolist())) if (fit & (fam == h)).sum() >= 10]
        inner = list(rng.choice(inner, size=min(8, len(inner)), replace=False))
        feats, labels = [], []
        for h in inner:  # outlier exposure: held-out training families are the novel class
            probe = Features(x, s, fam, fit & (fam != h), args.knn)
            ident, held = val & (fam != h), train & (fam == h)
            feats += [probe(ident), probe(held)]
            labels += [np.zeros(int(ident.sum())), np.ones(int(held.sum()))]
        f_all = np.vstack(feats)
        mu, sd = f_all.mean(0), f_all.std(0) + 1e-9
        meta = LogisticRegression(class_weight="balanced", max_iter=500).fit((f_all - mu) / sd, np.concatenate(labels))
        final = Features(x, s, fam, fit, args.knn)
        ev = split == "test"
        novel = fam[ev] == g
        f_ev = (final(ev) - mu) / sd
        combined = f_ev @ meta.coef_[0]
        out = {"meta": auroc(combined[~novel], combined[novel])}
        out.update({n: auroc(f_ev[~novel, j], f_ev[novel, j]) for j, n in enumerate(final.names())})
        results[g] = out
        print(g, {k: round(v, 3) for k, v in out.items()}, flush=True)
    keys = list(next(iter(results.values())))
    print("mean", {k: round(float(np.mean([r[k] for r in results.values()])), 3) for k in keys})


if __name__ == "__main__":
    main()
