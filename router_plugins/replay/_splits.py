"""Deterministic splits for data that records none: a hashed train/test split and stratified k-fold assignment."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from router_plugins.errors import DataError

__all__ = ["stratified_folds", "train_fraction_split"]


def train_fraction_split(keys: Sequence[str], train_tenths: int = 7) -> NDArray[np.str_]:
    """Deterministic split: ``train`` where ``sha1(key) % 10 < train_tenths``, else ``test`` (stable across runs)."""
    out = np.empty(len(keys), dtype=object)
    for i, key in enumerate(keys):
        out[i] = "train" if int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % 10 < train_tenths else "test"
    return out.astype(str)


def stratified_folds(strata: ArrayLike, k: int = 5, *, seed: int = 0) -> NDArray[np.int64]:
    """Fold 0..k-1 of each row such that every stratum (subject, dataset …) is spread as evenly as possible over the
    folds: within a stratum rows are shuffled (seeded) and dealt round robin, continuing where the last stratum
    stopped so that fold sizes differ by at most one."""
    labels = np.asarray(strata).astype(str)
    if k < 2:
        raise DataError(f"cross-validation needs at least 2 folds, got {k}")
    if len(labels) < k:
        raise DataError(f"{k}-fold cross-validation needs at least {k} rows, got {len(labels)}")
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=np.int64)
    start = 0
    for label in sorted(set(labels.tolist())):
        rows = rng.permutation(np.flatnonzero(labels == label))
        folds[rows] = (start + np.arange(len(rows))) % k
        start = (start + len(rows)) % k
    return folds
