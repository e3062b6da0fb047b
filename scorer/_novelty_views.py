"""The views of a query the novelty detector combines, each a number that grows as the query leaves the training
distribution (numpy only, a few small matrix products per query):

- ``emb``: log squared Mahalanobis distance of the embedding to the nearest training family (shared Ledoit-Wolf
  covariance, each family's distance divided by its own median spread),
- ``surf``: the same on the text's surface features (length, lines, digits, code symbols, option markers, ...),
- ``rel``: relative Mahalanobis distance (nearest family's distance minus the distance to one global Gaussian of all
  training rows, per dimension): large when a query is close to the training cloud as a whole but to no family in
  particular, the case plain Mahalanobis misses (Ren et al. 2021),
- ``ent``: entropy of a linear family classifier's softmax on the embedding: a query between families,
- ``bank``: log cosine distance to the nearest of a sample of training queries of every family (up to 300 each):
  a nearest-neighbour distance, which sees a query that sits between the training queries of a family whose mean
  it is close to (a near twin of a training family),
- ``edge``: surprise of the query's first and last words under the training prompts' templates (``_novelty_edges``):
  a template no training family uses, whatever its topic,
- ``tmpl``: the same per family: how much more surprising the edges are than a typical query of the family whose
  template fits best (a family without a template, e.g. bare questions, is not novel for its varied openings),
- ``cross``: the same excess under the families the embedding points to (the family classifier's softmax): content of
  one family in the template of another (a training family's questions re-templated, code asked for in prose).

Checkpoint format 1 (before these views) combined ``emb`` and ``surf`` only; it reads as format 2 with those two views.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from router_plugins.scorer._novelty_edges import edge_keys, edge_surprise, family_edge_excess

#: Every view, in the order a format-2 detector stores them.
VIEWS = ("emb", "surf", "rel", "ent", "bank", "edge", "tmpl", "cross")
#: The views of a format-1 checkpoint (and of ``TrainConfig.novelty_views`` for the old detector).
LEGACY_VIEWS = ("emb", "surf")
#: Tensors each view needs beyond the two Gaussians every detector has.
VIEW_TENSORS: dict[str, tuple[str, ...]] = {"emb": (), "surf": (), "rel": ("glob_whiten", "glob_mean"),
                                            "ent": ("clf_coef", "clf_bias"), "bank": ("bank",),
                                            "edge": ("edge_keys", "edge_counts"),
                                            "tmpl": ("tmpl_keys", "tmpl_counts", "tmpl_median"),
                                            "cross": ("clf_coef", "clf_bias", "tmpl_keys", "tmpl_counts",
                                                      "tmpl_median")}


def family_distances(x: NDArray[np.float64], whiten: NDArray, means: NDArray) -> NDArray[np.float64]:
    """(n, families) squared Mahalanobis distance of each row to each family mean (means already whitened)."""
    z = x @ whiten
    return (z * z).sum(axis=1)[:, None] - 2.0 * z @ means.T + (means * means).sum(axis=1)[None, :]


def family_distance(x: NDArray[np.float64], whiten: NDArray, means: NDArray, spread: NDArray | None = None,
                    distances: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Squared Mahalanobis distance of each row to the nearest family mean (means already whitened), each family's
    distance divided by its own ``spread`` (median distance of its training rows) so broad and tight families compare;
    ``distances``: the rows' ``family_distances``, when already computed."""
    d = family_distances(x, whiten, means) if distances is None else distances
    if spread is not None:
        d = d / spread[None, :]
    return np.maximum(d.min(axis=1), 1e-12)


def unit_rows(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row scaled to length 1 (the family classifier and the ``bank`` read directions, not lengths)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _family_posterior(t: Mapping[str, NDArray], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """The linear family classifier's softmax over the training families (rows of ``clf_coef``)."""
    logits = unit_rows(x) @ t["clf_coef"].T + t["clf_bias"]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def view_values(t: Mapping[str, NDArray], x: NDArray[np.float64], s: NDArray[np.float64],
                views: Sequence[str], texts: Sequence[str] = ()) -> NDArray[np.float64]:
    """(n, len(views)) raw view values of embeddings ``x``, standardised surface features ``s`` and (for the template
    views) the ``texts`` themselves."""
    cols: list[NDArray[np.float64]] = []
    shared: dict[str, NDArray[np.float64]] = {}  # what several views read is computed once per call

    def once(name: str, make: Callable[[], NDArray[np.float64]]) -> NDArray[np.float64]:
        if name not in shared:
            shared[name] = make()
        return shared[name]

    def posterior() -> NDArray[np.float64]:
        return once("posterior", lambda: _family_posterior(t, x))

    def to_families() -> NDArray[np.float64]:  # emb and rel both read the embedding's distance to every family
        return once("to_families", lambda: family_distances(x, t["emb_whiten"], t["emb_means"]))

    def excess() -> NDArray[np.float64]:
        return once("excess", lambda: family_edge_excess(t["tmpl_keys"], t["tmpl_counts"], t["tmpl_median"],
                                                         once("edges", lambda: edge_keys(texts))))

    for view in views:
        if view == "emb":
            cols.append(np.log(family_distance(x, t["emb_whiten"], t["emb_means"], t["emb_spread"], to_families())))
        elif view == "surf":
            cols.append(np.log(family_distance(s, t["surf_whiten"], t["surf_means"], t["surf_spread"])))
        elif view == "rel":
            g = (x - t["glob_mean"]) @ t["glob_whiten"]
            near = family_distance(x, t["emb_whiten"], t["emb_means"], None, to_families())
            cols.append((near - (g * g).sum(axis=1)) / x.shape[1])
        elif view == "ent":
            p = posterior()
            cols.append(-(p * np.log(np.maximum(p, 1e-12))).sum(axis=1))
        elif view == "bank":
            # in float32, as the bank is stored: a float64 product would copy the (rows × d) bank on every call
            near = (unit_rows(x).astype(np.float32) @ t["bank"].T).max(axis=1).astype(np.float64)
            cols.append(np.log(np.maximum(1.0 - near, 1e-6)))
        elif view == "edge":
            cols.append(edge_surprise(t["edge_keys"], t["edge_counts"], once("edges", lambda: edge_keys(texts))))
        elif view == "tmpl":  # the family whose template fits best: novel only if none does
            cols.append(excess().min(axis=1))
        elif view == "cross":  # the families the embedding points to
            cols.append((posterior() * excess()).sum(axis=1))
        else:  # validate() refuses unknown names before any scoring
            raise ValueError(f"unknown novelty view {view!r}")
    return np.column_stack(cols) if cols else np.zeros((len(x), 0))


def view_shapes(views: Sequence[str], n_fam: int, d: int, bank_rows: int, edge_rows: int = -1,
                tmpl_rows: int = -1) -> dict[str, tuple[int, ...]]:
    """Expected shape of each extra tensor the ``views`` need (validation of untrusted checkpoints)."""
    shapes = {"glob_whiten": (d, d), "glob_mean": (d,), "clf_coef": (n_fam, d), "clf_bias": (n_fam,),
              "bank": (bank_rows, d), "edge_keys": (edge_rows,), "edge_counts": (edge_rows,),
              "tmpl_keys": (tmpl_rows,), "tmpl_counts": (tmpl_rows,), "tmpl_median": (n_fam,)}
    return {name: shapes[name] for view in views for name in VIEW_TENSORS[view]}
