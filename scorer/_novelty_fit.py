"""Fitting the statistics behind the novelty views (``_novelty_views``) and the weights that combine them.

Costs are bounded for large training sets: the family classifier sees at most ``CLASSIFIER_ROWS`` rows per family and
the ``bank`` view keeps at most ``BANK_PER_FAMILY`` training queries of each family.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import ConfigError
from router_plugins.scorer._novelty_edges import fit_edges, fit_family_edges
from router_plugins.scorer._novelty_views import VIEWS, unit_rows

#: Training queries kept per family in the ``bank`` view (a random sample; on nim9's and routerdc's training folds,
#: 300 score within 0.002 mean AUROC of keeping every row, and 16 k-means centroids per family scored 0.01 lower:
#: benchmarks/novelty_inner_folds.py).
BANK_PER_FAMILY = 300
CLASSIFIER_ROWS = 300


def whitening(x: NDArray[np.float64], fam: NDArray[np.str_], families: Sequence[str]) -> tuple[NDArray, NDArray]:
    """A matrix W with ‖(x − μ)W‖² = the Mahalanobis distance under the shared Ledoit-Wolf covariance (plus a small
    ridge, so constant features do not make it singular), and the whitened family means."""
    from sklearn.covariance import LedoitWolf

    means = np.stack([x[fam == f].mean(axis=0) for f in families])
    centred = x - means[[families.index(f) for f in fam]]
    cov = LedoitWolf().fit(centred).covariance_
    cov = (cov + cov.T) / 2.0 + (1e-6 * float(np.trace(cov)) / len(cov) + 1e-9) * np.eye(len(cov))
    values, vectors = np.linalg.eigh(cov)
    whiten = vectors / np.sqrt(np.maximum(values, 1e-12))[None, :]
    return whiten, means @ whiten


def _per_family(fam: NDArray[np.str_], families: Sequence[str], limit: int,
                rng: np.random.Generator) -> NDArray[np.int64]:
    """Row indices with at most ``limit`` random rows of each family."""
    keep = [rows if len(rows := np.flatnonzero(fam == f)) <= limit else rng.choice(rows, limit, replace=False)
            for f in families]
    return np.sort(np.concatenate(keep))


def fit_view_tensors(x: NDArray[np.float64], fam: NDArray[np.str_], families: Sequence[str], views: Sequence[str],
                     seed: int = 0, texts: Sequence[str] = ()) -> dict[str, NDArray[np.float64]]:
    """The extra tensors of ``views`` (beyond the family Gaussians) fitted on rows ``x`` (texts ``texts``) of
    families ``fam``."""
    rng = np.random.default_rng(seed)
    out: dict[str, NDArray[np.float64]] = {}
    if "edge" in views:
        out["edge_keys"], out["edge_counts"] = fit_edges(texts)
    if "tmpl" in views or "cross" in views:
        index = np.array([list(families).index(f) for f in fam], dtype=np.int64)
        out["tmpl_keys"], out["tmpl_counts"], out["tmpl_median"] = fit_family_edges(texts, index, len(families))
    if "rel" in views:
        whiten, _ = whitening(x, np.full(len(x), "all"), ["all"])
        out["glob_whiten"], out["glob_mean"] = whiten, x.mean(axis=0)
    if "ent" in views or "cross" in views:
        from sklearn.linear_model import LogisticRegression

        rows = _per_family(fam, families, CLASSIFIER_ROWS, rng)
        clf = LogisticRegression(C=1.0, max_iter=300).fit(unit_rows(x[rows]), fam[rows])
        order = [list(clf.classes_).index(f) for f in families]
        if len(clf.classes_) == 2:  # sklearn's binary model has one row: softmax([−z/2, z/2]) is its sigmoid
            coef = np.vstack([-clf.coef_[0] / 2, clf.coef_[0] / 2])
            bias = np.array([-clf.intercept_[0] / 2, clf.intercept_[0] / 2])
        else:
            coef, bias = clf.coef_, clf.intercept_
        out["clf_coef"], out["clf_bias"] = coef[order], bias[order]
    if "bank" in views:  # embeddings of training queries, as the kNN member stores (all of) them
        out["bank"] = unit_rows(x[_per_family(fam, families, BANK_PER_FAMILY, rng)])
    return out


def usable_views(views: Sequence[str], n_families: int) -> tuple[str, ...]:
    """The requested views in storage order, less those a detector of ``n_families`` cannot have (a classifier needs
    two families); ConfigError for an unknown name or none."""
    unknown = [v for v in views if v not in VIEWS]
    if unknown or not views:
        raise ConfigError(f"unknown novelty view(s) {unknown or list(views)}: choose one or more of {list(VIEWS)} "
                          "(TrainConfig.novelty_views)")
    return tuple(v for v in VIEWS if v in views and not (v in ("ent", "cross") and n_families < 2))


def robust_scale(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per column, the interquartile range in standard-deviation units: outliers do not set the scale. Floored at
    0.01 so a view that is constant on the calibration rows (e.g. one prompt template per family) cannot blow up."""
    q75, q25 = np.percentile(values, [75, 25], axis=0)
    return np.maximum((q75 - q25) / 1.349, 1e-2)


def nonnegative_logistic(features: NDArray[np.float64], labels: NDArray[np.float64], l2: float = 1e-3,
                         groups: NDArray[np.int64] | None = None) -> tuple[float, ...]:
    """Weights (≥ 0, summing to 1) of a class-balanced logistic regression of ``labels`` on ``features``: every view
    grows with novelty, so a negative weight would only fit the training folds' accidents. With ``groups`` (the fold
    of each row), every group's positives weigh the same in total, and so do its negatives: each held-out family is
    one example of novelty, however many rows it has."""
    from scipy.optimize import minimize

    k = features.shape[1]
    pos = labels > 0.5
    if groups is None:
        groups = np.zeros(len(labels), dtype=np.int64)
    w_row = np.zeros(len(labels))
    for side in (pos, ~pos):
        ids, inverse, counts = np.unique(groups[side], return_inverse=True, return_counts=True)
        w_row[side] = 0.5 / (len(ids) * counts[inverse])
    sign = np.where(pos, 1.0, -1.0)

    def loss(p: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        m = sign * (features @ p[:k] + p[k])
        value = np.logaddexp(0.0, -m)
        grad_m = -w_row * sign / (1.0 + np.exp(np.clip(m, -50, 50)))
        grad = np.r_[features.T @ grad_m, grad_m.sum()]
        grad[:k] += 2 * l2 * p[:k]
        return float(w_row @ value + l2 * p[:k] @ p[:k]), grad

    res = minimize(loss, np.r_[np.full(k, 0.1), 0.0], jac=True, method="L-BFGS-B",
                   bounds=[(0.0, None)] * k + [(None, None)])
    w = np.clip(res.x[:k], 0.0, None)
    if w.sum() <= 0:
        return tuple(float(1.0 / k) for _ in range(k))
    return tuple(float(v) for v in w / w.sum())
