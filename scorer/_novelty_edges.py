"""The template views of the novelty detector (``edge``, ``tmpl``, ``cross``): how surprising a query's opening and
closing words are under the training prompts.

A task family is mostly its prompt template, and templates live at the edges of the text ("Write a function to …",
"… put your final answer in \\boxed{…}.", "from typing import …"). Per side, a positional n-gram model of the first
(last) ``EDGE_DEPTH`` tokens is counted over the training queries; the view is the query's surprise in nats, head plus
tail: ``Σ_d −log((c(p_d) + α) / (c(p_{d−1}) + α·V))`` over its prefixes ``p_d``, under all training queries pooled
(``edge``) or under each family's own counts less that family's median (``family_edge_excess``, which ``tmpl`` and
``cross`` read). A template no training family uses is surprising from its first words on, whatever the topic, which
the embedding views (about topic) miss. Prefixes are stored only as 24-bit CRC hashes with their counts (exact in
float32), never as text; only the first and last ``EDGE_CHARS`` characters of a query are read, so a hostile megabyte
query costs the same as a short one.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

#: Tokens read from each end of a query.
EDGE_DEPTH = 4
#: Characters read from each end before tokenising (bounds the cost on hostile input).
EDGE_CHARS = 400
#: Add-α smoothing and the vocabulary size it spreads over.
EDGE_ALPHA = 0.5
EDGE_VOCAB = 5000.0
_TOKEN = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")
_HASH_BITS = 24  # float32 holds every integer below 2**24 exactly


def edge_keys(texts: Sequence[str]) -> NDArray[np.int64]:
    """(n, 2, EDGE_DEPTH + 1) hashes of each text's head and tail prefixes of 0 … EDGE_DEPTH tokens (the empty
    prefix of a side is the same key for every text: its count is the number of training queries)."""
    out = np.zeros((len(texts), 2, EDGE_DEPTH + 1), dtype=np.int64)
    mask = (1 << _HASH_BITS) - 1
    for i, text in enumerate(texts):
        head = _TOKEN.findall(text[:EDGE_CHARS].lower())[:EDGE_DEPTH]
        tail = _TOKEN.findall(text[-EDGE_CHARS:].lower())[::-1][:EDGE_DEPTH]
        for side, tokens in enumerate((head, tail)):
            for d in range(EDGE_DEPTH + 1):
                key = ("^" if side == 0 else "$") + "\x1f".join(tokens[:d])  # a short text repeats its last key
                out[i, side, d] = zlib.crc32(key.encode("utf-8", "surrogatepass")) & mask
    return out


def _table(keys: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Sorted distinct hashes and how often each occurs (the stored form every template view looks up)."""
    distinct, counts = np.unique(keys, return_counts=True)
    return distinct.astype(np.float64), counts.astype(np.float64)


def fit_edges(texts: Sequence[str]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Sorted distinct prefix hashes of the training ``texts`` and how many texts have each."""
    return _table(edge_keys(texts))


def edge_surprise(keys: NDArray, counts: NDArray, query_keys: NDArray[np.int64]) -> NDArray[np.float64]:
    """Head plus tail surprise (nats) of each query (its ``edge_keys``) under the stored prefix counts (module doc)."""
    return _steps(_lookup(keys, counts, query_keys))


def _family_keys(keys: NDArray[np.int64], family: NDArray[np.int64]) -> NDArray[np.int64]:
    """The prefix hashes mixed with a family index (broadcast against ``keys``): one key space holds every family's
    own counts."""
    mixed = (keys ^ ((family + 1) * 0x5BD1E995 & 0xFFFFFFF)) * 0x9E3779B1
    return (mixed >> 16) & ((1 << _HASH_BITS) - 1)


def _lookup(keys: NDArray, counts: NDArray, q: NDArray[np.int64]) -> NDArray[np.float64]:
    qf = q.astype(np.float64)
    pos = np.clip(np.searchsorted(keys, qf), 0, max(len(keys) - 1, 0))
    return np.where(keys[pos] == qf, counts[pos], 0.0) if len(keys) else np.zeros_like(qf)


def _steps(c: NDArray[np.float64]) -> NDArray[np.float64]:
    """Surprise (nats) summed over the prefix steps of the last axis and the two sides before it."""
    return -np.log((c[..., 1:] + EDGE_ALPHA) / (c[..., :-1] + EDGE_ALPHA * EDGE_VOCAB)).sum(axis=(-1, -2))


def fit_family_edges(texts: Sequence[str], family_index: NDArray[np.int64],
                     n_families: int) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Each family's own prefix counts (hashes mixed with the family: sorted keys, counts) and the median
    leave-one-out surprise of its rows under its own counts (what a query of that family typically scores)."""
    own = _family_keys(edge_keys(texts), np.asarray(family_index, dtype=np.int64)[:, None, None])  # (n, 2, depth + 1)
    keys, values = _table(own)
    # leave-one-out: less the row's own occurrences of each key (a short text repeats its last key at every depth)
    flat = own.reshape(len(own), -1)
    own_count = (flat[:, :, None] == flat[:, None, :]).sum(axis=2).reshape(own.shape)
    surprise = _steps(_lookup(keys, values, own) - own_count)
    median = np.array([np.median(surprise[family_index == f]) if (family_index == f).any() else 0.0
                       for f in range(n_families)])
    return keys, values, median


def family_edge_excess(keys: NDArray, counts: NDArray, median: NDArray,
                       query_keys: NDArray[np.int64]) -> NDArray[np.float64]:
    """(n, families): how much more surprising each query's edges (its ``edge_keys``) are under each family's own
    counts than a typical query of that family (its median)."""
    mixed = _family_keys(query_keys[:, None], np.arange(len(median), dtype=np.int64)[None, :, None, None])
    return _steps(_lookup(keys, counts, mixed)) - np.asarray(median, dtype=np.float64)[None, :]
