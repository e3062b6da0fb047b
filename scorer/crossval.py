"""k-fold cross-validated evaluation for outcome data that records no train/test split (multi-agent configuration
outcomes, a user's CSV without a ``split`` column): every router kind is trained on k−1 folds and predicts the held-out
fold, so each item gets an out-of-fold prediction and the report covers all items.

Folds are stratified by task (the subject for DyLAN, the dataset for RouteMoA) so each fold sees every task. Routing
uses each fold's own train cost per query, so nothing about a held-out item, not even its cost, shapes its decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.replay import OutcomeTable, stratified_folds

if TYPE_CHECKING:
    from router_plugins.scorer.backends import Backend
    from router_plugins.scorer.encoders import CachedEncoder

__all__ = ["CV_FOLDS", "cross_validate"]

#: Folds of the cross-validation ``eval`` runs on data without a split (the report's ``"split"`` is ``"cv5"``).
CV_FOLDS = 5


def cross_validate(table: OutcomeTable, kinds: Sequence[str], encoder: CachedEncoder, *, encoder_spec: str,
                   use_task: bool = False, k: int = CV_FOLDS, seed: int = 0, progress: bool = True,
                   extra: Mapping[str, Any] | None = None, backend: Backend | None = None) -> dict[str, Any]:
    """Out-of-fold predictions of every router kind over all rows of ``table``, as a report.json dict whose ``split``
    is ``f"cv{k}"``; ``backend`` runs its λ sweeps and bootstrap intervals (Ray under ``eval --ray``)."""
    # imported here so that the CLI can read CV_FOLDS without loading the training stack
    from router_plugins.scorer.pipeline import cost_vector, predictions, train_scorer
    from router_plugins.scorer.report import build_report
    from router_plugins.scorer.training import TrainConfig
    from tqdm import tqdm

    folds = stratified_folds(table.tasks, k, seed=seed)
    n, m = len(table), len(table.models)
    preds: dict[str, NDArray[np.float32]] = {}
    costs: NDArray[np.float64] | None = np.full((n, m), np.nan) if table.cost is not None else None
    with tqdm(total=k * len(kinds), desc=f"cv{k} {table.name}", disable=not progress, leave=False) as bar:
        for fold in range(k):
            held = folds == fold
            train, test = table.select(~held), table.select(held)
            for kind in kinds:
                scorer, _ = train_scorer(train, kind=kind, encoder=encoder, encoder_spec=encoder_spec,
                                         config=TrainConfig(kind=kind, use_task=use_task, seed=seed), progress=False)
                variants = {kind: True}
                if scorer.predictor.config.get("use_task"):
                    variants[f"{kind} (text only)"] = False
                for name, with_task in variants.items():
                    preds.setdefault(name, np.full((n, m), np.nan, dtype=np.float32))[held] = predictions(
                        scorer, test, use_task=with_task)
                if costs is not None:
                    fold_costs = cost_vector(scorer, test)
                    if fold_costs is None:
                        costs = None
                    else:
                        costs[held] = fold_costs[None, :]
                bar.update(1)
    strata = table.meta.get("cv_strata", "task")
    info = {"folds": k, "stratified_by": strata, "seed": seed, "fold_sizes": np.bincount(folds, minlength=k).tolist(),
            "note": f"out-of-fold predictions over all {n} rows; each fold's routers and cost estimates come from the "
                    "other folds only"}
    configurations: dict[str, Any] = {}
    if table.meta.get("configurations"):
        # the "models" are team configurations: calibrate the fitted configuration priors and replay the selector
        from router_plugins.configuration_eval import evaluate_configurations

        configurations = evaluate_configurations(table, k=k, seed=seed)
    return build_report(table.name, f"cv{k}", table, preds, costs,
                        extra={**(extra or {}), "cv": info, **configurations}, backend=backend)
