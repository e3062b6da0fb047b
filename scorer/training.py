"""Training of every router kind on frozen query embeddings: the dual-contrastive scorer (dc); the kNN, MLP and
matrix-factorisation (mf) baselines; the per-task prior (a lookup of train means per task); and a stack, the
validation-weighted average of the prior and the learned routers. A validation slice of train (never test) drives
early stopping, kNN's k, the post-hoc Platt calibration of the dc/mf heads and the stack's weights.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import ConfigError
from router_plugins.scorer.predictors import KINDS, Predictor
from router_plugins.scorer.train_config import TrainConfig


@dataclass
class TrainResult:
    """A trained predictor plus what happened while training it."""

    predictor: Predictor
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)


def validation_mask(n: int, fraction: float, seed: int) -> NDArray[np.bool_]:
    """A deterministic random slice of train rows held out for early stopping, model selection and calibration."""
    mask = np.zeros(n, dtype=bool)
    if fraction > 0 and n >= 10:
        rng = np.random.default_rng(seed)
        mask[rng.permutation(n)[: max(1, int(round(n * fraction)))]] = True
    return mask


def cluster_ids(x: NDArray[np.float32], given: NDArray[np.int64] | None, n_clusters: int, seed: int) -> NDArray[np.int64]:
    """The data's own cluster ids when every row has one, else k-means clusters of the embeddings."""
    if given is not None and len(given) == len(x) and (given >= 0).all():
        return given.astype(np.int64)
    from sklearn.cluster import KMeans

    k = max(2, min(n_clusters, len(x) // 10))
    return KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(x).astype(np.int64)


def routed_quality(pred: NDArray[np.float32], y: NDArray[np.float64]) -> float:
    """Mean recorded quality of the argmax model (NaN outcomes masked): the λ = 0 routing quality."""
    pick = np.argmax(pred, axis=1)
    q = y[np.arange(len(y)), pick]
    return float(np.nanmean(q)) if np.isfinite(q).any() else float("nan")


def train_router(x: NDArray[np.float32], y: NDArray[np.float64], models: Sequence[str], config: TrainConfig | None = None,
                 *, tasks: Sequence[str] | None = None, clusters: NDArray[np.int64] | None = None) -> TrainResult:
    """Train one router kind on embeddings ``x`` (n, d) and recorded quality ``y`` (n, m; NaN = not recorded)."""
    cfg = config or TrainConfig()
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (len(x), len(models)):
        raise ConfigError(f"quality has shape {y.shape}, expected ({len(x)}, {len(models)})")
    start = time.perf_counter()
    if cfg.kind == "stack":
        result = _train_stack(x, y, list(models), cfg, tasks=tasks, clusters=clusters)
    elif cfg.kind == "prior":
        result = _train_prior(y, list(models), cfg, tasks)
    elif cfg.kind == "knn":
        result = _train_knn(x, y, list(models), cfg)
    elif cfg.kind == "mlp":
        result = _train_mlp(x, y, list(models), cfg)
    else:
        result = _train_embedding_head(x, y, list(models), cfg, tasks=tasks, clusters=clusters)
    result.seconds = time.perf_counter() - start
    return result


# -- per-task prior and the stack --------------------------------------------------------------------------------------

def task_hierarchy(tasks: Sequence[str]) -> list[str]:
    """Every task and each of its parents ("mmlu/astronomy" → "mmlu"), parents first."""
    return sorted({t.rsplit("/", k)[0] for t in set(tasks) if t for k in range(t.count("/") + 1)},
                  key=lambda t: (t.count("/"), t))


def task_prior(y: NDArray[np.float64], tasks: Sequence[str] | None, strength: float) -> tuple[list[str], NDArray]:
    """Each model's mean quality per task and per parent task ("a/b" → "a"), each shrunk towards its parent's (the
    global mean at the top) with ``strength`` pseudo-rows; the last row is the global mean (unknown tasks)."""
    glob = np.nan_to_num(np.nanmean(y, axis=0), nan=0.5) if len(y) else np.full(y.shape[1], 0.5)
    labels = [str(t) for t in tasks] if tasks is not None else []
    names = task_hierarchy(labels)
    levels: dict[str, NDArray[np.float64]] = {}
    for name in names:  # parents first: a child shrinks towards its parent
        parent = levels.get(name.rpartition("/")[0], glob)
        sub = y[np.array([t == name or t.startswith(name + "/") for t in labels], dtype=bool)]
        weight = (~np.isnan(sub)).sum(axis=0) + strength  # no outcome and no pseudo-rows (strength 0): the parent's
        levels[name] = np.where(weight > 0, (np.nansum(sub, axis=0) + strength * parent) / np.maximum(weight, 1e-9), parent)
    return names, np.vstack([*(levels[n] for n in names), glob[None, :]]).astype(np.float32)


def _train_prior(y: NDArray[np.float64], models: list[str], cfg: TrainConfig, tasks: Sequence[str] | None) -> TrainResult:
    """The shrinkage strength (pseudo-rows towards the parent task) with the best Brier score on the validation slice."""
    labels = [str(t) for t in tasks] if tasks is not None else None
    val = validation_mask(len(y), cfg.val_fraction, cfg.seed)
    briers: dict[float, float] = {}
    if len(cfg.prior_strengths) > 1 and val.any() and labels is not None:
        fit_tasks = [labels[i] for i in np.flatnonzero(~val)]
        ok = np.isfinite(y[val])
        for strength in cfg.prior_strengths:
            names, table = task_prior(y[~val], fit_tasks, strength)
            rows = Predictor("prior", models, {"prior_tasks": names}, {}).task_rows(
                [labels[i] for i in np.flatnonzero(val)], int(val.sum()))
            pred = table[rows]
            briers[strength] = float(np.mean((pred[ok] - y[val][ok]) ** 2))
    strength = min(briers, key=lambda k: (np.nan_to_num(briers[k], nan=np.inf), k)) if briers else cfg.prior_strengths[0]
    names, table = task_prior(y, labels, strength)
    return TrainResult(Predictor("prior", models, {"prior_tasks": names, "strength": strength},
                                 {"task_prior": table}), 0.0,
                       {"n_tasks": len(names), "strength": strength, "val_brier_by_strength": briers})


def simplex_weights(preds: Sequence[NDArray[np.float32]], y: NDArray[np.float64], step: float) -> tuple[list[float], float]:
    """Weights on the simplex grid (``step``) minimising the Brier score of the weighted average on recorded cells."""
    import itertools

    ok = np.isfinite(y)
    cells = [p[ok].astype(np.float64) for p in preds]
    target = y[ok]
    units = int(round(1.0 / step))
    best: tuple[float, list[float]] | None = None
    for combo in itertools.product(range(units + 1), repeat=len(preds) - 1):
        if sum(combo) > units:
            continue
        w = [c / units for c in combo] + [(units - sum(combo)) / units]
        brier = float(np.mean((sum(wi * c for wi, c in zip(w, cells)) - target) ** 2))
        if best is None or brier < best[0] - 1e-12:
            best = (brier, w)
    assert best is not None
    return best[1], best[0]


def _train_stack(x: NDArray[np.float32], y: NDArray[np.float64], models: list[str], cfg: TrainConfig, *,
                 tasks: Sequence[str] | None, clusters: NDArray[np.int64] | None) -> TrainResult:
    """Members trained on train minus a held-out slice pick the weights there; then each is retrained on all of train."""
    from dataclasses import replace

    members = [k for k in cfg.stack_members if k in KINDS and k != "stack"]
    if not members:
        raise ConfigError(f"stack_members {cfg.stack_members} names no router kind")
    hold = validation_mask(len(x), max(cfg.val_fraction, 0.1), cfg.seed + 1)
    fit = np.flatnonzero(~hold)
    sub_tasks = [tasks[i] for i in fit] if tasks is not None else None
    held_tasks = [tasks[i] for i in np.flatnonzero(hold)] if tasks is not None else None
    sub_clusters = clusters[fit] if clusters is not None and len(clusters) == len(x) else None
    with_task, without_task = [], []
    for kind in members:
        sub = train_router(x[fit], y[fit], models, replace(cfg, kind=kind, progress=False), tasks=sub_tasks,
                           clusters=sub_clusters)
        with_task.append(sub.predictor.predict(x[hold], held_tasks))
        without_task.append(sub.predictor.predict(x[hold], None))
    weights, brier = simplex_weights(with_task, y[hold], cfg.stack_step)
    plain, plain_brier = simplex_weights(without_task, y[hold], cfg.stack_step)  # for queries of unknown task
    info: dict[str, Any] = {"weights": dict(zip(members, weights)), "held_out_brier": brier,
                            "no_task_weights": dict(zip(members, plain)), "no_task_held_out_brier": plain_brier}
    parts, parts_plain = [], []
    for kind, w, wp in zip(members, weights, plain):
        if w > 0 or wp > 0:
            full = train_router(x, y, models, replace(cfg, kind=kind), tasks=tasks, clusters=clusters)
            parts.append((kind, w, full.predictor))
            parts_plain.append(wp)
            info[kind] = full.info
    known = task_hierarchy([str(t) for t in tasks]) if tasks is not None else []
    return TrainResult(Predictor.stack(parts, no_task_weights=parts_plain, known_tasks=known), 0.0, info)


# -- kNN ---------------------------------------------------------------------------------------------------------------

def _knn_predictor(x: NDArray[np.float32], y: NDArray[np.float64], models: list[str], k: int) -> Predictor:
    mean = np.nan_to_num(np.nanmean(np.where(np.isnan(y), np.nan, y), axis=0), nan=0.5)
    return Predictor("knn", models, {"k": int(k), "n_train": int(len(x))},
                     {"train_embeddings": x, "train_quality": y.astype(np.float32), "model_mean": mean})


def _train_knn(x: NDArray[np.float32], y: NDArray[np.float64], models: list[str], cfg: TrainConfig) -> TrainResult:
    val = validation_mask(len(x), cfg.val_fraction, cfg.seed)
    scores = {}
    for k in cfg.knn_ks:
        if val.any() and k < (~val).sum():
            scores[k] = routed_quality(_knn_predictor(x[~val], y[~val], models, k).predict(x[val]), y[val])
    best_k = max(scores, key=lambda k: (scores[k], k)) if scores else 40
    return TrainResult(_knn_predictor(x, y, models, best_k), 0.0, {"k": best_k, "val_quality_by_k": scores})


# -- MLP (scikit-learn) -------------------------------------------------------------------------------------------------

def _train_mlp(x: NDArray[np.float32], y: NDArray[np.float64], models: list[str], cfg: TrainConfig) -> TrainResult:
    from sklearn.neural_network import MLPRegressor

    # MLPRegressor cannot mask targets: unrecorded outcomes are filled with the model's mean quality (documented).
    col_mean = np.nan_to_num(np.nanmean(y, axis=0), nan=0.5)
    target = np.where(np.isnan(y), col_mean, y)
    mlp = MLPRegressor(hidden_layer_sizes=tuple(cfg.mlp_hidden), alpha=1e-3, learning_rate_init=1e-3,
                       early_stopping=len(x) >= 1000, validation_fraction=max(cfg.val_fraction, 0.1), n_iter_no_change=10,
                       max_iter=300, random_state=cfg.seed)
    mlp.fit(x, target)
    tensors = {f"coef_{i}": c for i, c in enumerate(mlp.coefs_)}
    tensors.update({f"intercept_{i}": b for i, b in enumerate(mlp.intercepts_)})
    pred = Predictor("mlp", models, {"n_layers": len(mlp.coefs_), "hidden_layer_sizes": list(cfg.mlp_hidden)}, tensors)
    return TrainResult(pred, 0.0, {"epochs": int(mlp.n_iter_)})


# -- dual-contrastive (dc) and matrix-factorisation (mf) heads (torch) ---------------------------------------------------

def _build_net(d_in: int, m: int, cfg: TrainConfig) -> Any:
    import torch
    from torch import nn

    class EmbeddingHead(nn.Module):
        """Query projection + learnable model embeddings; logit_j = proj(x) · e_j + b_j."""

        def __init__(self) -> None:
            super().__init__()
            self.drop = nn.Dropout(cfg.dropout)
            if cfg.kind == "mf":
                self.proj = nn.Sequential(nn.Linear(d_in, cfg.embed_dim))
            else:
                self.proj = nn.Sequential(nn.Linear(d_in, cfg.hidden), nn.GELU(approximate="tanh"),
                                          nn.Linear(cfg.hidden, cfg.embed_dim))
            self.model_embeddings = nn.Parameter(torch.randn(m, cfg.embed_dim) * (1.0 / cfg.embed_dim ** 0.5))
            self.model_bias = nn.Parameter(torch.zeros(m))

        def forward(self, x: Any) -> tuple[Any, Any]:
            h = self.proj(self.drop(x))
            return h @ self.model_embeddings.T + self.model_bias, h

    return EmbeddingHead()


def _fit_platt(logits: NDArray[np.float32], y: NDArray[np.float64], min_rows: int = 20) -> tuple[NDArray, NDArray]:
    """Per-model Platt scaling (a·logit + c) fitted by masked BCE on the validation slice."""
    import torch

    from router_plugins.scorer.losses import masked_bce

    m = logits.shape[1]
    a, c = np.ones(m, np.float32), np.zeros(m, np.float32)
    for j in range(m):
        ok = ~np.isnan(y[:, j])
        if ok.sum() < min_rows:
            continue
        lj = torch.tensor(logits[ok, j], dtype=torch.float64)
        yj = torch.tensor(y[ok, j], dtype=torch.float64)
        params = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([params], max_iter=100, line_search_fn="strong_wolfe")

        def closure() -> Any:
            opt.zero_grad()
            loss = masked_bce(params[0] * lj + params[1], yj) + 1e-3 * ((params[0] - 1) ** 2 + params[1] ** 2)
            loss.backward()
            return loss

        opt.step(closure)
        pa, pc = params.detach().numpy()
        if np.isfinite(pa) and np.isfinite(pc) and pa > 0:
            a[j], c[j] = pa, pc
    return a, c


def _train_embedding_head(x: NDArray[np.float32], y: NDArray[np.float64], models: list[str], cfg: TrainConfig, *,
                          tasks: Sequence[str] | None, clusters: NDArray[np.int64] | None) -> TrainResult:
    import torch
    from tqdm import tqdm

    from router_plugins.scorer.losses import masked_bce, sample_llm_contrastive, sample_sample_contrastive

    torch.manual_seed(cfg.seed)
    use_task = cfg.kind == "dc" and cfg.use_task and tasks is not None
    task_names = sorted(set(tasks)) if use_task and tasks is not None else []
    probe = Predictor(cfg.kind, models, {"use_task": use_task}, {}, task_names)
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
    xs = (x - mu) / sd
    feats = np.concatenate([xs, probe.task_features(len(x), tasks)], axis=1) if use_task else xs
    n_task = len(task_names) if use_task else 0
    val = validation_mask(len(x), cfg.val_fraction, cfg.seed)
    tr = np.flatnonzero(~val)
    clu = cluster_ids(x, clusters, cfg.n_clusters, cfg.seed) if cfg.kind == "dc" and cfg.w_sample_sample > 0 else None

    net = _build_net(feats.shape[1], len(models), cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    xt = torch.tensor(feats, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)
    ct = torch.tensor(clu) if clu is not None else None
    rng = np.random.default_rng(cfg.seed)
    best: tuple[float, dict[str, Any], int] | None = None
    bad = 0
    history: list[float] = []
    bar = tqdm(range(cfg.epochs), desc=f"train {cfg.kind}", disable=not cfg.progress, leave=False)
    for epoch in bar:
        net.train()
        order = tr[rng.permutation(len(tr))]
        for start in range(0, len(tr), cfg.batch_size):
            idx = torch.as_tensor(order[start:start + cfg.batch_size])
            xb, yb = xt[idx].clone(), yt[idx]
            if n_task and cfg.task_dropout > 0:  # so the head also works from text alone
                drop = torch.rand(len(idx)) < cfg.task_dropout
                xb[drop, -n_task:] = 0.0
            logits, h = net(xb)
            loss = cfg.w_bce * masked_bce(logits, yb)
            if cfg.kind == "dc":
                if cfg.w_sample_llm > 0:
                    loss = loss + cfg.w_sample_llm * sample_llm_contrastive(logits, yb, cfg.top_k, cfg.last_k)
                if ct is not None:
                    loss = loss + cfg.w_sample_sample * sample_sample_contrastive(h, ct[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if not val.any():
            continue
        net.eval()
        with torch.no_grad():
            vloss = float(masked_bce(net(xt[val])[0], yt[val]))
        history.append(vloss)
        bar.set_postfix(val_bce=f"{vloss:.4f}")
        if best is None or vloss < best[0] - 1e-4 or epoch + 1 < cfg.min_epochs // 2:
            best = (vloss, {k: v.detach().clone() for k, v in net.state_dict().items()}, epoch)
            bad = 0
        else:
            bad += 1
            if bad >= cfg.patience and epoch + 1 >= cfg.min_epochs:
                break
    if best is not None:
        net.load_state_dict(best[1])
    net.eval()
    tensors = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    m = len(models)
    tensors["platt_a"], tensors["platt_c"] = np.ones(m, np.float32), np.zeros(m, np.float32)
    tensors["input_mean"], tensors["input_std"] = mu.astype(np.float32), sd.astype(np.float32)
    config = {"use_task": use_task, "hidden": 0 if cfg.kind == "mf" else cfg.hidden, "embed_dim": cfg.embed_dim,
              "train": cfg.as_dict()}
    pred = Predictor(cfg.kind, models, config, tensors, task_names)
    info: dict[str, Any] = {"epochs": len(history), "best_epoch": None if best is None else best[2] + 1,
                            "val_bce": None if best is None else best[0], "n_clusters": None if clu is None
                            else int(len(set(clu.tolist())))}
    if val.any():
        vt = [tasks[i] for i in np.flatnonzero(val)] if use_task and tasks is not None else None
        a, c = _fit_platt(pred.logits(x[val], vt), y[val])
        pred.tensors["platt_a"], pred.tensors["platt_c"] = a, c
        info["val_quality_lambda0"] = routed_quality(pred.predict(x[val], vt), y[val])
    return TrainResult(pred, 0.0, info)
