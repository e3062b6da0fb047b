"""Training losses of the dual-contrastive scorer; every loss masks NaN (unrecorded) outcomes."""

from __future__ import annotations

from typing import Any


def masked_bce(logits: Any, targets: Any) -> Any:
    """Binary cross-entropy against recorded quality in [0, 1] (soft targets allowed), NaN targets ignored."""
    import torch
    import torch.nn.functional as F

    mask = ~torch.isnan(targets)
    if not mask.any():
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[mask], targets[mask])


def sample_llm_contrastive(logits: Any, targets: Any, top_k: int = 3, last_k: int = 3) -> Any:
    """RouterDC's sample–LLM loss: each of the top-k models (by recorded quality) against the last-k models.

    As in RouterDC, a positive whose quality is not > 0 contributes nothing, and a negative that did well
    (quality > 0.5) is dropped from the denominator; NaN outcomes are never a positive nor a negative.
    """
    import torch

    m = logits.shape[1]
    top_k, last_k = min(top_k, m), min(last_k, m)
    nan = torch.isnan(targets)
    pos_vals, pos_idx = torch.where(nan, -1.0, targets).sort(dim=1, descending=True)
    neg_vals, neg_idx = torch.where(nan, 2.0, targets).topk(last_k, dim=1, largest=False)
    neg_logits = torch.gather(logits, 1, neg_idx).masked_fill(neg_vals > 0.5, float("-inf"))
    total = logits.sum() * 0.0
    for i in range(top_k):
        pos_logit = torch.gather(logits, 1, pos_idx[:, i:i + 1])
        keep = (pos_vals[:, i] > 0).float()
        logp = torch.log_softmax(torch.cat([pos_logit, neg_logits], dim=1), dim=1)[:, 0]
        total = total + (-(logp * keep)).sum() / keep.sum().clamp(min=1.0)
    return total / max(top_k, 1)


def sample_sample_contrastive(hidden: Any, clusters: Any, temperature: float = 0.2) -> Any:
    """Sample–sample loss over task clusters (supervised InfoNCE): samples of a cluster pull together in the batch."""
    import torch
    import torch.nn.functional as F

    z = F.normalize(hidden, dim=1)
    sim = z @ z.T / temperature
    n = sim.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=sim.device)
    same = (clusters[:, None] == clusters[None, :]) & ~eye
    has_pos = same.any(dim=1)
    if not has_pos.any():
        return hidden.sum() * 0.0
    log_prob = sim.masked_fill(eye, float("-inf")).log_softmax(dim=1)
    pos_log = (log_prob.masked_fill(~same, 0.0)).sum(dim=1) / same.sum(dim=1).clamp(min=1)
    return -pos_log[has_pos].mean()
