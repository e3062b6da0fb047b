"""Fitting the novelty detector and its shrinkage on training data only, by leaving task families out.

For each training family in turn (up to ``max_folds``, a random subset beyond that), the detector's Gaussians and a
cheap proxy router are fitted on the other families' non-validation rows; that family's rows play the unseen family
and the others' validation rows the in-distribution queries. Pooled over the folds they give (a) the non-negative
weights of the standardised views (``_novelty_views``; a logistic model: held-out families are the positive class,
"outlier exposure", each family weighing the same however many rows it has), after which views of weight 0 are
dropped, and (b) the text shrinkage ``(start, max, ramp)`` for unlabelled queries (a known label is never
text-shrunk) and (c) the separate strength ``label_shrink`` for queries whose task label is unseen, which replaces
the text's weight for them. Both are chosen by the issue's "never worse than not routing", learned on training
folds: of the strengths that keep every held-out family within a tolerance of the fold's best single training model
(none for (b), half a point for (c)), the one with the best mean held-out quality. (b) is scored from the text alone,
in-distribution rows included, as it only ever acts on unlabelled traffic, and may put a floor under every unlabelled
query; every held-out row carries an unseen label for (c). The text rule's in-distribution cost is kept in
``info["shrink_objective"]``. The final detector is then fitted on every family's non-validation rows and calibrated
on the validation rows; it keeps the training task names, unless some training row has no label (then a label proves
nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.scorer._novelty_fit import (fit_view_tensors, nonnegative_logistic, robust_scale, usable_views,
                                                whitening)
from router_plugins.scorer._novelty_views import VIEWS, view_values
from router_plugins.scorer.novelty import (SHRINK_RAMP, NoveltyModel, extended_score, normalise_task, shrink_weight,
                                          surface_features)
from router_plugins.scorer.predictors import Predictor

#: Rows a family needs to get its own Gaussian mean (and to be left out as a fold).
MIN_FAMILY_ROWS = 10
#: Rows of a held-out family a fold reads at most (a random sample of larger families).
HELD_OUT_ROWS = 400
#: Calibration quantiles stored per checkpoint.
N_QUANTILES = 257
#: A proxy router for the folds: fitted on (embeddings, quality, tasks), returns a predictor.
ProxyTrainer = Callable[[NDArray[np.float32], NDArray[np.float64], list[str]], Predictor]
#: The text strengths the folds choose from: where the ramp starts on the extended score, and its top. A start below
#: 0 gives every unlabelled query a floor of prior weight; at −ramp it is the top for all of them (at top 1: not
#: routing unlabelled queries), the choice where routing from the text alone loses to not routing on held-out folds.
SHRINK_STARTS = (-0.5, -0.25, 0.0, 0.25, 0.5, 0.9, 0.99, 1.0, 1.5, 2.0, 3.0)
SHRINK_MAXES = (0.0, 0.25, 0.5, 0.75, 1.0)
#: How far below not routing a held-out family may fall for a text strength to count as safe: none. A fold's held-out
#: family has up to ``HELD_OUT_ROWS`` rows, and half a point there is two queries; a family met in use may be smaller
#: (at 50 queries half a point is not one). Replayed on training folds (benchmarks/shrink_rule_folds.py), demanding
#: no shortfall keeps more held-out families never worse than the issue's half point did.
TEXT_TOLERANCE = 0.0
#: A text strength (start, max, ramp) with each fold's in-distribution quality, held-out quality and held-out margin
#: over not routing (``strength_table``).
StrengthRow = tuple[tuple[float, float, float], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


def family_of(task: str) -> str:
    """The task family a task belongs to: its top-level name ("mmlu/astronomy" → "mmlu")."""
    return str(task).split("/", 1)[0]


def _spread(x: NDArray[np.float64], fam: NDArray[np.str_], families: Sequence[str], whiten: NDArray,
            means: NDArray) -> NDArray[np.float64]:
    """Per family, the median squared distance of its own rows to its mean (floored, so it can divide)."""
    out = np.empty(len(families))
    for i, f in enumerate(families):
        z = x[fam == f] @ whiten - means[i]
        out[i] = np.median((z * z).sum(axis=1))
    return np.maximum(out, 1e-6 * max(float(out.max()), 1e-6))


def held_out(rows: NDArray[np.bool_], rng: np.random.Generator) -> NDArray[np.bool_]:
    """The rows a fold holds out: those of ``rows``, or a random HELD_OUT_ROWS of them."""
    held = np.flatnonzero(rows)
    if len(held) > HELD_OUT_ROWS:
        held = np.sort(rng.choice(held, HELD_OUT_ROWS, replace=False))
    out = np.zeros(len(rows), dtype=bool)
    out[held] = True
    return out


@dataclass
class _Views:
    """What the views read of every training row: embeddings, raw surface features, family labels and the text."""

    x: NDArray[np.float64]
    s: NDArray[np.float64]
    fam: NDArray[np.str_]
    texts: Sequence[str]

    def text_rows(self, rows: NDArray[np.bool_]) -> list[str]:
        """The texts of the rows a mask selects."""
        return [self.texts[i] for i in np.flatnonzero(rows)]


def fit_detector(views: _Views, fit: NDArray[np.bool_], cal: NDArray[np.bool_], weights: Sequence[float] | None,
                 prior_models: Sequence[str], robust_prior: NDArray[np.float64],
                 detector_views: Sequence[str] = VIEWS, seed: int = 0) -> NoveltyModel:
    """Statistics of every view on the ``fit`` rows (families with ≥ MIN_FAMILY_ROWS rows), their centers, scales and
    the quantiles of the combined score on the ``cal`` rows; ``weights`` None: equal weights (a fold's detector, whose
    standardised views are what the weights are learned from)."""
    names, counts = np.unique(views.fam[fit], return_counts=True)
    families = [str(f) for f, c in zip(names, counts) if c >= MIN_FAMILY_ROWS] or [str(names[np.argmax(counts)])]
    used = usable_views(detector_views, len(families))
    rows = fit & np.isin(views.fam, families)
    center = views.s[rows].mean(axis=0)
    scale = np.maximum(views.s[rows].std(axis=0), 1e-6)
    s = (views.s - center) / scale
    emb_w, emb_m = whitening(views.x[rows], views.fam[rows], families)
    surf_w, surf_m = whitening(s[rows], views.fam[rows], families)
    tensors = {"emb_whiten": emb_w, "emb_means": emb_m, "surf_center": center, "surf_scale": scale,
               "surf_whiten": surf_w, "surf_means": surf_m,
               "emb_spread": _spread(views.x[rows], views.fam[rows], families, emb_w, emb_m),
               "surf_spread": _spread(s[rows], views.fam[rows], families, surf_w, surf_m),
               **fit_view_tensors(views.x[rows], views.fam[rows], families, used, seed, views.text_rows(rows))}
    values = view_values(tensors, views.x[cal], s[cal], used, views.text_rows(cal))
    centers, scales = np.median(values, axis=0), robust_scale(values)
    w = np.full(len(used), 1.0 / len(used)) if weights is None else np.asarray(weights, dtype=np.float64)
    raw = ((values - centers) / scales) @ w
    tensors["quantiles"] = np.maximum.accumulate(np.quantile(raw, np.linspace(0.0, 1.0, N_QUANTILES)))
    tensors["robust_prior"] = np.clip(robust_prior, 0.0, 1.0)
    return NoveltyModel(families, tensors, tuple(float(v) for v in w), tuple(float(c) for c in centers),
                        list(prior_models), views=used, scales=tuple(float(c) for c in scales),
                        info={"n_calibration": int(cal.sum()), "n_fit": int(rows.sum())})


def _standardised(model: NoveltyModel, views: _Views, rows: NDArray[np.bool_]) -> NDArray[np.float64]:
    """(n, k) standardised view values of ``rows``: the inputs the combination weights act on."""
    t = model.tensors
    s = (views.s[rows] - t["surf_center"]) / t["surf_scale"]
    values = view_values(t, views.x[rows], s, model.views, views.text_rows(rows))
    return (values - np.asarray(model.centers)) / np.asarray(model.scales)


def _routed(pred: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Mean λ=0 quality when each query is routed among the models with a recorded outcome for it (its pool: in a
    union of datasets, a model absent from a query's dataset is not a choice there); NaN when no query has one."""
    recorded = np.isfinite(y)
    rows = recorded.any(axis=1)
    if not rows.any():
        return float("nan")
    pick = np.argmax(np.where(recorded[rows], pred[rows], -np.inf), axis=1)
    return float(np.mean(y[rows][np.arange(int(rows.sum())), pick]))


def fit_novelty(x: NDArray[np.float32], texts: Sequence[str], tasks: Sequence[str], y: NDArray[np.float64],
                models: Sequence[str], val: NDArray[np.bool_], proxy: ProxyTrainer | None, *,
                max_folds: int = 32, seed: int = 0, detector_views: Sequence[str] = VIEWS,
                starts: Sequence[float] = SHRINK_STARTS, maxes: Sequence[float] = SHRINK_MAXES,
                ramps: Sequence[float] = (SHRINK_RAMP,),
                label_grid: Sequence[float] = tuple(np.linspace(0.0, 1.0, 21)),
                groups: Mapping[str, str] | None = None,
                keep_folds: list[dict[str, Any]] | None = None) -> NoveltyModel | None:
    """The calibrated detector with combination weights and shrinkage learned by leaving families out (module doc).
    None when there is no validation slice to calibrate on; no shrinkage with a single family. ``groups``: family →
    the group a fold leaves it out with (``TrainConfig.novelty_groups``). ``keep_folds``: a list the folds (each with
    the combination ``weights``) are appended to, for benchmarks that replay the rules on them."""
    if not val.any() or val.all():
        return None
    views = _Views(np.asarray(x, np.float64), surface_features(texts), np.array([family_of(t) for t in tasks]),
                   list(texts))
    fold_of = np.array([(groups or {}).get(f, f) for f in views.fam.tolist()])  # what a fold leaves out together
    names, counts = np.unique(fold_of, return_counts=True)
    eligible = [str(f) for f, c in zip(names, counts) if c >= MIN_FAMILY_ROWS]
    robust = np.nan_to_num(np.nanmean(y, axis=0), nan=0.5)
    # a fold's detector has one family fewer, and a classifier view needs two: the folds decide which views exist
    detector_views = usable_views(detector_views, len(eligible) - 1 if len(eligible) >= 2 else len(eligible))
    weights: tuple[float, ...] | None = None  # equal weights unless the folds teach others
    start, top, ramp, label_top, info = 1.0, 0.0, SHRINK_RAMP, 0.0, {"folds": []}
    if len(eligible) >= 2:
        rng = np.random.default_rng(seed)
        # a random subset of folds, not the largest families: those are often alike (short QA) and would teach the
        # weights that surface form never matters
        chosen = sorted(rng.choice(eligible, size=min(max_folds, len(eligible)), replace=False).tolist())
        feats, labels, row_fold, folds = [], [], [], []
        for g in chosen:
            others = fold_of != g
            fit, cal = others & ~val, others & val
            if cal.sum() < 5 or fit.sum() < MIN_FAMILY_ROWS:
                continue
            out = held_out(~others, rng)
            fold_prior = np.nan_to_num(np.nanmean(y[fit], axis=0), nan=0.5)
            det = fit_detector(views, fit, cal, None, models, fold_prior, detector_views, seed)
            if det.views != detector_views:  # too few rows left in some family to keep every view: skip the fold
                continue
            f_cal, f_out = _standardised(det, views, cal), _standardised(det, views, out)
            feats += [f_cal, f_out]
            labels += [np.zeros(len(f_cal)), np.ones(len(f_out))]
            row_fold += [np.full(len(f_cal) + len(f_out), len(folds))]
            fold = {"family": g, "f_cal": f_cal, "f_out": f_out, "prior": fold_prior, "cal": cal, "out": out}
            if proxy is not None:
                p = proxy(x[fit], y[fit], [tasks[i] for i in np.flatnonzero(fit)])
                # the text strength acts only on queries without a known label (a known one stops it), so its
                # in-distribution cost is read from the proxy's text-only predictions
                p_cal = p.predict(x[cal], None)
                p_out = p.predict(x[out], [tasks[i] for i in np.flatnonzero(out)])
                # a model with no recorded outcome in a fold predicts NaN: read it as the fold's prior
                fold["p_cal"] = np.where(np.isnan(p_cal), fold_prior[None, :], p_cal)
                fold["p_out"] = np.where(np.isnan(p_out), fold_prior[None, :], p_out)
            folds.append(fold)
        if folds:
            weights = nonnegative_logistic(np.vstack(feats), np.concatenate(labels), groups=np.concatenate(row_fold))
            if keep_folds is not None:
                keep_folds += [dict(f, weights=weights) for f in folds]
            start, top, ramp, grid = (_shrinkage(folds, weights, y, starts, maxes, ramps) if proxy is not None
                                      else (1.0, 0.0, SHRINK_RAMP, {}))
            label_top, label_grid_q = (_label_shrinkage(folds, y, label_grid) if proxy is not None
                                       else (0.0, {}))
            info = {"folds": [f["family"] for f in folds], "fold_auroc": _fold_aurocs(folds, weights),
                    "shrink_objective": grid, "label_shrink_objective": label_grid_q}
    if weights is not None and any(w > 0 for w in weights):
        # a view the folds give no weight changes no score: it is neither stored nor computed at inference
        info["learned_weights"] = dict(zip(detector_views, weights, strict=True))
        detector_views = tuple(v for v, w in zip(detector_views, weights, strict=True) if w > 0)
        weights = tuple(w for w in weights if w > 0)
    model = fit_detector(views, ~val, val, weights, models, robust, detector_views, seed)
    model.shrink_start, model.shrink_max, model.label_shrink = float(start), float(top), float(label_top)
    model.shrink_ramp = float(ramp)
    labels = [normalise_task(t) for t in tasks]
    # an unlabelled training row could be of any task, so an unseen label is certain novelty only if none is
    model.set_known_tasks(_hierarchy(tasks) if all(label is not None for label in labels) else [])
    model.info.update(info)
    model.info["label_rule"] = bool(model.known_tasks)
    return model


def _hierarchy(tasks: Sequence[str]) -> list[str]:
    """Every training task name and its parents ("a/b" → "a"), as spelled in the data, sorted."""
    return sorted({t.rsplit("/", k)[0] for t in set(map(str, tasks)) if t for k in range(t.count("/") + 1)})


def _fold_scores(fold: dict, weights: Sequence[float]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Calibrated scores of a fold's odd in-distribution rows and its held-out rows, calibrated on the even
    in-distribution rows (scoring the calibration rows themselves would put their maximum at exactly 1)."""
    w = np.asarray(weights)
    r_cal, r_out = fold["f_cal"] @ w, fold["f_out"] @ w
    even = np.arange(len(r_cal)) % 2 == 0
    q = np.maximum.accumulate(np.quantile(r_cal[even], np.linspace(0.0, 1.0, N_QUANTILES)))
    return extended_score(r_cal[~even], q), extended_score(r_out, q)


def _fold_aurocs(folds: list[dict], weights: Sequence[float]) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    w = np.asarray(weights)
    return {f["family"]: round(float(roc_auc_score(np.r_[np.zeros(len(f["f_cal"])), np.ones(len(f["f_out"]))],
                                                   np.r_[f["f_cal"] @ w, f["f_out"] @ w])), 4) for f in folds}


def _shrinkage(folds: list[dict], weights: Sequence[float], y: NDArray[np.float64], starts: Sequence[float],
               maxes: Sequence[float], ramps: Sequence[float] = (SHRINK_RAMP,),
               tolerance: float = TEXT_TOLERANCE) -> tuple[float, float, float, dict[str, list[float]]]:
    """(start, max, ramp) for unlabelled queries, chosen like ``label_shrink`` but from the text's scores (see
    ``choose_strength``), and the grid: each strength ("start=…,max=…", plus ",ramp=…" for a ramp other than
    SHRINK_RAMP) mapped to [in-distribution mean, held-out mean, worst held-out margin over not routing]."""
    table = strength_table(folds, weights, y, starts, maxes, ramps)
    grid = {f"start={s[0]:g},max={s[1]:g}" + ("" if s[2] == SHRINK_RAMP else f",ramp={s[2]:g}"):
            [round(float(np.nanmean(q_id)), 5), round(float(np.nanmean(q_out)), 5), round(float(margin.min()), 5)]
            for s, q_id, q_out, margin in table}
    return (*choose_strength(table, tolerance), grid)


def strength_table(folds: list[dict], weights: Sequence[float], y: NDArray[np.float64], starts: Sequence[float],
                   maxes: Sequence[float], ramps: Sequence[float]) -> list[StrengthRow]:
    """Per text strength (start, max, ramp), from less to more shrinkage (a later start, a wider ramp first), each
    fold's λ=0 quality on its odd in-distribution rows and on its held-out rows, and the held-out margin over the
    fold's best single training model (not routing)."""
    scored = [(f, *_fold_scores(f, weights)) for f in folds]
    odd = [np.flatnonzero(f["cal"])[1::2] for f in folds]
    single = np.array([_routed(np.broadcast_to(f["prior"], f["p_out"].shape), y[f["out"]]) for f in folds])
    table: list[StrengthRow] = []
    for top in sorted(maxes):
        # no shrinkage: neither start nor ramp matters
        for start, ramp in ([(max(starts), SHRINK_RAMP)] if top == 0 else
                            [(a, r) for a in sorted(starts, reverse=True) for r in sorted(ramps, reverse=True)]):
            q_id, q_out = [], []
            for (f, s_cal, s_out), rows in zip(scored, odd):
                a_cal = shrink_weight(s_cal, start, top, ramp)[:, None]
                a_out = shrink_weight(s_out, start, top, ramp)[:, None]
                q_id.append(_routed((1 - a_cal) * f["p_cal"][1::2] + a_cal * f["prior"][None, :], y[rows]))
                q_out.append(_routed((1 - a_out) * f["p_out"] + a_out * f["prior"][None, :], y[f["out"]]))
            margin = np.nan_to_num(np.asarray(q_out) - single, nan=0.0)  # a fold with no recorded outcome cannot lose
            table.append(((start, top, ramp), np.asarray(q_id), np.asarray(q_out), margin))
    return table


def choose_strength(table: list[StrengthRow], tolerance: float = TEXT_TOLERANCE,
                    folds: Sequence[int] | None = None) -> tuple[float, float, float]:
    """The never-worse rule on a ``strength_table`` (over ``folds``, default all): of the strengths that keep every
    held-out family within ``tolerance`` of not routing, the best mean held-out quality; ties go to the better
    in-distribution (validation) quality, then to less shrinkage. When none keeps every family, the smallest
    worst-family shortfall decides (then the same ties)."""
    idx = np.arange(len(table[0][3])) if folds is None else np.asarray(folds)
    best: tuple[tuple[float, ...], tuple[float, float, float]] | None = None
    for strength, q_id, q_out, margin in table:  # from less to more shrinkage: moving on needs a strict improvement
        key = (min(float(margin[idx].min()) + tolerance, 0.0), float(np.nanmean(q_out[idx])),
               float(np.nanmean(q_id[idx])))
        if best is None or _better(key, best[0]):
            best = (key, strength)
    assert best is not None
    return best[1]


def _better(a: tuple[float, ...], b: tuple[float, ...], eps: float = 1e-9) -> bool:
    """Lexicographic ``a > b`` with a tolerance for float noise on each key."""
    for u, v in zip(a, b):
        if u > v + eps:
            return True
        if u < v - eps:
            return False
    return False


def _label_shrinkage(folds: list[dict], y: NDArray[np.float64], grid: Sequence[float],
                     tolerance: float = 0.005) -> tuple[float, dict[str, Any]]:
    """The robust prior's weight for unseen-label queries: of the weights that keep every held-out family within
    ``tolerance`` of the fold's best single training model (what weight 1 routes to: not routing), the one with the
    best mean λ=0 held-out quality; of several equally good ones (routed quality is a step function of the weight),
    the median. Only held-out rows carry unseen labels, so in-distribution quality cannot change; the text's score
    plays no part, as it does not for such queries at inference."""
    grid = sorted({float(g) for g in grid} | {1.0})
    q = np.array([[_routed((1 - s) * f["p_out"] + s * f["prior"][None, :], y[f["out"]]) for f in folds] for s in grid])
    q = np.nan_to_num(q, nan=0.0)
    safe = (q >= q[-1][None, :] - tolerance).all(axis=1)  # the last row is weight 1, always safe
    mean = q.mean(axis=1)
    top = mean[safe].max()
    best = [s for s, m, ok in zip(grid, mean, safe) if ok and m >= top - 1e-9]
    table = {"mean_quality": {f"{s:g}": round(float(m), 5) for s, m in zip(grid, mean, strict=True)},
             "safe": [f"{s:g}" for s, ok in zip(grid, safe, strict=True) if ok]}
    return float(best[(len(best) - 1) // 2]), table
