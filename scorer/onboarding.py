"""Add a model to a trained dc/mf scorer (or a stack's dc/mf member) without retraining: fit only its embedding and
bias on frozen query representations from a few labelled queries, or estimate them zero-shot from its card (price per
query, size).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.cards import ModelCard
from router_plugins.errors import ConfigError
from router_plugins.query import Query
from router_plugins.scorer.cards_features import card_features, parse_size_b
from router_plugins.scorer.trained_scorer import TrainedScorer


def _effective_rows(scorer: TrainedScorer) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Known models' embeddings and biases with their Platt scaling folded in (so logits stay comparable)."""
    t = scorer.predictor.head().tensors
    a = t["platt_a"]
    return t["model_embeddings"] * a[:, None], t["model_bias"] * a + t["platt_c"]


def zero_shot_parameters(scorer: TrainedScorer, card: ModelCard) -> tuple[NDArray[np.float32], float]:
    """Card-similarity blend of the known models' (calibrated) embeddings and biases."""
    head = scorer.predictor.head()  # CheckpointError without a dc/mf head
    w = scorer.zero_shot_weights(card)
    w = np.asarray([w[scorer.models.index(m)] for m in head.models], np.float32)
    w = w / w.sum() if w.sum() > 0 else np.full(len(head.models), 1.0 / len(head.models), np.float32)
    emb, bias = _effective_rows(scorer)
    return (w @ emb).astype(np.float32), float(w @ bias)


def _card_meta(scorer: TrainedScorer, card: ModelCard, cost_per_query: float | None) -> dict[str, Any]:
    cost = cost_per_query if cost_per_query is not None else scorer.card_cost_per_query(card)
    feats = scorer.model_features()
    feats[card.name] = card_features(cost, card.size_b or parse_size_b(card.name, card.description))
    costs = scorer.cost_per_query
    if cost is not None:
        costs[card.name] = float(cost)
    onboarded = dict(scorer.meta.get("onboarded") or {})
    return {"model_features": feats, "cost_per_query": costs, "onboarded": onboarded}


def onboard_zero_shot(scorer: TrainedScorer, card: ModelCard, *, cost_per_query: float | None = None) -> TrainedScorer:
    """A scorer that also knows ``card`` (no labels): its embedding is the blend of the most similar known models."""
    emb, bias = zero_shot_parameters(scorer, card)
    meta = _card_meta(scorer, card, cost_per_query)
    meta["onboarded"][card.name] = {"method": "zero-shot", "labels": 0}
    return scorer.with_predictor(scorer.predictor.with_model(card.name, emb, bias), meta)


def onboard_labelled(scorer: TrainedScorer, card: ModelCard, queries: Sequence[Query | str],
                     quality: Sequence[float] | NDArray[np.float64], *, cost_per_query: float | None = None,
                     prior_strength: float = 1.0, max_iter: int = 200) -> TrainedScorer:
    """Fit only the new model's embedding and bias (BCE, NaN masked) on ≤ a few hundred labelled queries.

    The fit is pulled towards the zero-shot estimate with weight ``prior_strength`` / n, so a handful of labels
    refines the card prior instead of overfitting. Takes well under a second on 2 cores.
    """
    import torch

    y = np.asarray(quality, dtype=np.float64)
    qs = [Query.coerce(q) for q in queries]
    if len(qs) != len(y):
        raise ConfigError(f"{len(qs)} queries but {len(y)} quality labels")
    ok = np.isfinite(y)
    if not ok.any():
        raise ConfigError("no recorded quality among the labels: use onboard_zero_shot")
    if ((y[ok] < 0) | (y[ok] > 1)).any():
        raise ConfigError("quality labels must lie in [0, 1]")
    start = time.perf_counter()
    prior_e, prior_b = zero_shot_parameters(scorer, card)
    x = scorer.embed([q.text for q in qs])
    h = torch.tensor(scorer.predictor.head().hidden(x, [q.task for q in qs])[ok], dtype=torch.float64)
    yt = torch.tensor(y[ok], dtype=torch.float64)
    pe, pb = torch.tensor(prior_e, dtype=torch.float64), torch.tensor(prior_b, dtype=torch.float64)
    e = pe.clone().requires_grad_(True)
    b = pb.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([e, b], max_iter=max_iter, line_search_fn="strong_wolfe")
    reg = prior_strength / len(yt)
    scale = float(h.norm(dim=1).pow(2).mean()) or 1.0

    def closure() -> Any:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(h @ e + b, yt)
        loss = loss + reg * (scale * (e - pe).pow(2).sum() + (b - pb).pow(2))
        loss.backward()
        return loss

    opt.step(closure)
    meta = _card_meta(scorer, card, cost_per_query)
    meta["onboarded"][card.name] = {"method": "labelled", "labels": int(ok.sum()),
                                   "seconds": round(time.perf_counter() - start, 4)}
    predictor = scorer.predictor.with_model(card.name, e.detach().numpy().astype(np.float32), float(b.detach()))
    return scorer.with_predictor(predictor, meta)
