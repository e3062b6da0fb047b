"""Card features (price per query, size) used to estimate an unknown model zero-shot from the models a scorer knows."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

_SIZE = re.compile(r"(?:(\d+)\s*x\s*)?(\d+(?:\.\d+)?)\s*b\b", re.IGNORECASE)


def parse_size_b(*texts: str | None) -> float | None:
    """Parameters in billions read from a name or description ('llama-2-70b' → 70, 'mixtral-8x7b' → 56), or None."""
    for text in texts:
        if not text:
            continue
        match = _SIZE.search(text.replace("_", "-"))
        if match:
            experts = float(match.group(1)) if match.group(1) else 1.0
            return experts * float(match.group(2))
    return None


def card_features(cost_per_query: float | None, size_b: float | None) -> dict[str, float | None]:
    """The features one model is compared on (log10 scales; None where unknown)."""
    return {
        "log_cost": math.log10(cost_per_query) if cost_per_query and cost_per_query > 0 else None,
        "log_size": math.log10(size_b) if size_b and size_b > 0 else None,
    }


def blend_weights(new: Mapping[str, float | None], known: Mapping[str, Mapping[str, Any]], *,
                  bandwidth: float = 0.5) -> tuple[list[str], NDArray[np.float64]]:
    """Gaussian-kernel weights over known models by card-feature distance (features both sides know only).

    With no shared feature the weights are uniform. ``bandwidth`` is in log10 units (0.5 ≈ a factor of 3).
    """
    names = list(known)
    d2 = np.zeros(len(names))
    shared = np.zeros(len(names))
    for i, name in enumerate(names):
        for key, value in new.items():
            other = known[name].get(key)
            if value is not None and other is not None:
                d2[i] += (float(value) - float(other)) ** 2
                shared[i] += 1
    if not shared.any():
        return names, np.full(len(names), 1.0 / len(names))
    d2 = np.where(shared > 0, d2, d2[shared > 0].max() + 1.0)
    logits = -d2 / (2 * bandwidth ** 2)
    w = np.exp(logits - logits.max())
    return names, w / w.sum()
