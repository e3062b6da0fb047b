"""Train-then-evaluate flows shared by the CLI and the benchmarks: one encoder pass (cached), every router kind on
the same train split, all evaluated on the same test rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from router_plugins.errors import CheckpointError, DataError
from router_plugins.replay import OutcomeTable
from router_plugins.query import Query
from router_plugins.scorer.backends import Backend
from router_plugins.scorer.cards_features import card_features, parse_size_b
from router_plugins.scorer.encoders import CachedEncoder, Encoder, make_encoder
from router_plugins.scorer.novelty import NoveltyModel
from router_plugins.scorer.report import build_report, mean_cost_per_query
from router_plugins.scorer.trained_scorer import TrainedScorer
from router_plugins.scorer.training import TrainConfig, train_router

log = logging.getLogger("router_plugins.scorer")

#: Queries predicted at once by :func:`predictions` (tables up to this size are predicted in one call).
PREDICT_CHUNK = 65_536
#: Fewest train rows any router kind accepts (k-means in dc/stack needs two points; fewer is not learning anything).
MIN_TRAIN_ROWS = 2


def table_meta(train: OutcomeTable) -> dict[str, Any]:
    """What a checkpoint keeps about its training data: cost per query, card features, mean input tokens."""
    costs = mean_cost_per_query(train)
    features = {}
    for m in train.models:
        size = parse_size_b(m, train.descriptions.get(m), str(train.meta.get("sizes", {}).get(m, "")))
        features[m] = card_features(costs.get(m), size)
    mean_in = float(np.mean(train.input_tokens)) if train.input_tokens is not None else None
    return {"trained_on": train.name, "n_train": len(train), "cost_per_query": costs, "model_features": features,
            "mean_input_tokens": mean_in, "metric": train.metric}


def embed_table(table: OutcomeTable, encoder: Encoder, *, progress: bool = True) -> np.ndarray:
    """Embeddings of every query of a table (disk-cached), with a progress bar."""
    from tqdm import tqdm

    enc = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder)
    with tqdm(total=len(table), desc=f"embed {table.name}", disable=not progress, leave=False) as bar:
        return enc.encode(list(table.texts), progress=bar.update)


def check_train_rows(train: OutcomeTable) -> None:
    """DataError unless the train rows are enough for every router kind (a one-line message for the CLI)."""
    if len(train) < MIN_TRAIN_ROWS:
        raise DataError(f"{train.name}: the train split has {len(train)} row(s); a router needs at least "
                        f"{MIN_TRAIN_ROWS} (dc and stack cluster the train queries). Mark more rows split=train "
                        "(README section 'Outcome data formats')")


def train_scorer(train: OutcomeTable, *, kind: str = "dc", encoder_spec: str | None = "minilm",
                 encoder: Encoder | None = None, config: TrainConfig | None = None,
                 progress: bool = True) -> tuple[TrainedScorer, dict[str, Any]]:
    """Train one router kind on a train table; returns the scorer and {seconds, info}."""
    check_train_rows(train)
    enc = encoder or make_encoder(encoder_spec)
    cached = enc if isinstance(enc, CachedEncoder) else CachedEncoder(enc)
    cfg = replace(config or TrainConfig(), kind=kind, progress=progress)
    t0 = time.perf_counter()
    if kind == "prior" and not cfg.novelty:
        x = np.zeros((len(train), cached.dim), dtype=np.float32)  # the per-task prior never reads the text
    else:
        x = embed_table(train, cached, progress=progress)
    embed_s = time.perf_counter() - t0
    tasks = [str(t) for t in train.tasks]
    result = train_router(x, train.quality, train.models, cfg, tasks=tasks, clusters=train.clusters)
    meta = table_meta(train)
    meta.update({"train_seconds": result.seconds, "train_info": result.info})
    t1 = time.perf_counter()
    novelty = train_novelty(x, train, cfg) if cfg.novelty else None
    if novelty is not None:
        meta["novelty_seconds"] = time.perf_counter() - t1
    scorer = TrainedScorer(result.predictor, cached, meta=meta, encoder_spec=encoder_spec, novelty=novelty)
    return scorer, {"seconds": result.seconds, "embed_seconds": embed_s, "info": result.info,
                    "novelty": None if novelty is None else novelty.config()}


def train_novelty(x: np.ndarray, train: OutcomeTable, cfg: TrainConfig,
                  keep_folds: list[dict[str, Any]] | None = None) -> NoveltyModel | None:
    """The calibrated novelty detector and its shrinkage, learned by leaving training task families out; the proxy
    router per fold is a stack of ``cfg.novelty_proxy`` (cheap members), calibration on the validation slice
    (``keep_folds``: see ``fit_novelty``)."""
    from router_plugins.scorer.novelty_training import fit_novelty
    from router_plugins.scorer.training import validation_mask

    proxy_cfg = replace(cfg, kind="stack", stack_members=tuple(cfg.novelty_proxy), progress=False)

    def proxy(xf: np.ndarray, yf: np.ndarray, tf: list[str]) -> Any:
        return train_router(xf, yf, train.models, proxy_cfg, tasks=tf).predictor

    val = validation_mask(len(train), max(cfg.val_fraction, 0.1), cfg.seed + 2)
    return fit_novelty(x, list(train.texts), [str(t) for t in train.tasks], train.quality, list(train.models), val,
                       proxy if cfg.novelty_proxy else None, max_folds=cfg.novelty_folds, seed=cfg.seed,
                       detector_views=cfg.novelty_views, groups=dict(cfg.novelty_groups), keep_folds=keep_folds)


def predictions(scorer: TrainedScorer, table: OutcomeTable, *, use_task: bool = True) -> np.ndarray:
    """Predicted quality for the table's queries × the table's models (CheckpointError on unknown models)."""
    missing = [m for m in table.models if m not in scorer.models]
    if missing:
        raise CheckpointError(f"the checkpoint does not know model(s) {missing} of {table.name}; it knows "
                              f"{scorer.models}. Train on this data or onboard them")
    queries = [Query(text=t, task=str(k) if use_task else None) for t, k in zip(table.texts, table.tasks)]
    # in slices: kNN compares each query with every train row, 1 M queries at once would need ~20 GB
    known = np.concatenate([scorer.predict_known(queries[i:i + PREDICT_CHUNK])
                            for i in range(0, len(queries), PREDICT_CHUNK)]) if queries else scorer.predict_known([])
    cols = [scorer.models.index(m) for m in table.models]
    return known[:, cols]


def cost_vector(scorer: TrainedScorer, table: OutcomeTable) -> np.ndarray | None:
    """Per-model cost estimate used for routing: the checkpoint's train cost per query, else the table's mean."""
    costs = scorer.cost_per_query or mean_cost_per_query(table)
    if table.cost is None or not all(m in costs for m in table.models):
        return None
    return np.array([costs[m] for m in table.models], dtype=np.float64)


def evaluate_scorers(table: OutcomeTable, scorers: Mapping[str, TrainedScorer], *, split: str,
                     text_only: Sequence[str] = (), extra: Mapping[str, Any] | None = None,
                     backend: Backend | None = None) -> dict[str, Any]:
    """Replay every scorer on the same rows; ``text_only`` names scorers also evaluated without the query's task.
    ``backend`` runs the λ sweeps and bootstrap intervals (Ray under ``eval --ray``; here by default)."""
    if not scorers:
        raise DataError("no scorer to evaluate")
    preds = {}
    for name, scorer in scorers.items():
        preds[name] = predictions(scorer, table)
        if name in text_only:
            preds[f"{name} (text only)"] = predictions(scorer, table, use_task=False)
    first = next(iter(scorers.values()))
    costs = cost_vector(first, table)
    return build_report(table.name, split, table, preds, costs, extra=extra, backend=backend)
