"""The ceiling of post-generation policies over recorded answers, computed with the evaluated rows' own labels (used by
``judge_bounds.py``): per task, backward induction over the sets of cheap models called and the groups of rows that read
the same, maximising Σ quality − λ·Σ cost at every λ; a λ sweep and the concave hull give the quality at a cost cap.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from router_plugins.replay import cost_quality_hull

LAMBDAS = 400


@dataclass
class TaskRows:
    """The test rows of one task: quality and cost of every model, answer keys, judge scores of the callable models."""

    q: NDArray[np.float64]
    c: NDArray[np.float64]
    keys: NDArray[np.int64]
    strong: int
    callable: list[int]
    scores: dict[int, NDArray[np.float64]]  # model column → trained-judge P(right) on these rows
    auc: dict[int, float]


def groups(keys: NDArray[np.int64], feats: NDArray[np.int64], called: tuple[int, ...], agreement: bool
           ) -> NDArray[np.int64]:
    """Group id per row: rows that read the same after calling ``called`` (sorted columns)."""
    if not called:
        return np.zeros(len(keys), dtype=np.int64)
    cols = list(called)
    parts = [feats[:, cols]]
    if agreement:
        seen = keys[:, cols]
        parts.append(np.argmax(seen[:, :, None] == seen[:, None, :], axis=2))  # first equal answer = partition
    _, inverse = np.unique(np.column_stack(parts), axis=0, return_inverse=True)
    return inverse.ravel().astype(np.int64)


def ceiling_curve(rows: TaskRows, feats: NDArray[np.int64], agreement: bool, depth: int, lambdas: NDArray[np.float64]
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(Σ quality, Σ cost) per λ of the best adaptive policy over ≤ depth cheap calls (decisions per group on the
    labels of these rows), by backward induction over the sets of models called."""
    n, lam = len(rows.q), lambdas[None, :]
    gid: dict[tuple[int, ...], NDArray[np.int64]] = {}
    best: dict[tuple[int, ...], tuple[NDArray[np.float64], NDArray[np.float64]]] = {}  # per group × λ: (Q, C)
    sets = [s for k in range(depth + 1) for s in itertools.combinations(rows.callable, k)]
    for s in sets:
        gid[s] = groups(rows.keys, feats, s, agreement)
    for s in sorted(sets, key=len, reverse=True):
        g = gid[s]
        n_g = int(g.max()) + 1
        # escalate to the strong model, or keep the best answer already read (chosen per group on the labels)
        q_opts = [np.bincount(g, rows.q[:, rows.strong], n_g)]
        c_opts = [np.bincount(g, rows.c[:, rows.strong], n_g)]
        for j in s:
            q_opts.append(np.bincount(g, rows.q[:, j], n_g))
            c_opts.append(np.zeros(n_g))
        Q = np.repeat(np.stack(q_opts, 1)[:, :, None], len(lambdas), 2)
        C = np.repeat(np.stack(c_opts, 1)[:, :, None], len(lambdas), 2)
        bestQ, bestC = _argmax(Q, C, lam)
        if len(s) < depth:
            for m in rows.callable:
                if m in s:
                    continue
                child = tuple(sorted((*s, m)))
                cg = gid[child]
                up = np.zeros(int(cg.max()) + 1, dtype=np.int64)
                up[cg] = g  # child groups refine the parent's
                agg = sparse.csr_matrix((np.ones(len(up)), (up, np.arange(len(up)))), shape=(n_g, len(up)))
                cq, cc = best[child]
                q_m = agg @ cq
                c_m = agg @ cc + np.bincount(g, rows.c[:, m], n_g)[:, None]
                bestQ, bestC = _argmax(np.stack([bestQ, q_m], 1), np.stack([bestC, c_m], 1), lam)
        best[s] = (bestQ, bestC)
    Q0, C0 = best[()]
    assert Q0.shape[0] == 1 and n > 0
    return Q0[0], C0[0]


def _argmax(Q: NDArray[np.float64], C: NDArray[np.float64], lam: NDArray[np.float64]
            ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per group and λ, the option (axis 1) of highest Q − λ·C (the cheaper on ties)."""
    v = Q - lam[:, None, :] * C - 1e-12 * C
    k = np.argmax(v, axis=1)[:, None, :]
    return np.take_along_axis(Q, k, 1)[:, 0], np.take_along_axis(C, k, 1)[:, 0]


def at_cap(Q: NDArray[np.float64], C: NDArray[np.float64], n: int, budget: float) -> float:
    """Quality per row on the concave hull of the λ points at total cost ≤ budget (mixing two policies)."""
    hull = cost_quality_hull(np.column_stack([C / n, Q / n]))
    if budget < hull[0, 0]:
        return float("nan")
    return float(np.interp(budget, hull[:, 0], hull[:, 1]))


def target_ceiling(per_task: list[TaskRows], feats: list[NDArray[np.int64]], agreement: bool, depth: int,
                   budget: float) -> float:
    """The ceiling at ``budget`` (mean cost per row) over several tasks: one λ for all (Lagrangian separability)."""
    n = sum(len(r.q) for r in per_task)
    ref = max(float(np.mean(r.c[:, r.strong])) for r in per_task)
    lambdas = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, LAMBDAS - 1) / ref])
    Q, C = np.zeros(len(lambdas)), np.zeros(len(lambdas))
    for rows, f in zip(per_task, feats):
        q, c = ceiling_curve(rows, f, agreement, depth, lambdas)
        Q += q
        C += c
    return at_cap(Q, C, n, budget)
