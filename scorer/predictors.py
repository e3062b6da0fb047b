"""Numpy inference for every trained router kind (dc, mf, mlp, knn, the per-task prior and a stack of them): routing
never needs torch at run time.

A predictor maps query embeddings (and, optionally, task names) to expected quality in [0, 1] per known model,
and is fully described by a JSON-able ``config`` plus named float32 ``tensors`` (what a checkpoint stores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import CheckpointError
from router_plugins.query import task_lineage

KINDS = ("dc", "mf", "mlp", "knn", "prior", "stack")
Array = NDArray[np.float32]


def gelu_tanh(x: Array) -> Array:
    """GELU, tanh approximation (the same as ``torch.nn.GELU(approximate='tanh')``)."""
    return (0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))).astype(np.float32, copy=False)


def sigmoid(x: Array) -> Array:
    """Numerically safe logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass
class Predictor:
    """A trained router head: ``kind``, the models it scores (columns), its config and its tensors."""

    kind: str
    models: list[str]
    config: dict[str, Any]
    tensors: dict[str, Array]
    tasks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise CheckpointError(f"unknown router kind {self.kind!r}; expected one of {KINDS}")
        self.tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in self.tensors.items()}
        self._task_index = {t: i for i, t in enumerate(self.tasks)}
        self._members = self._build_members() if self.kind == "stack" else []

    def _build_members(self) -> list[tuple[float, Predictor]]:
        """A stack's weighted members, rebuilt from its config and its '<member>/<tensor>' tensors."""
        specs, weights = self.config.get("members", []), self.config.get("weights", [])
        n_plain = len(self.config.get("no_task_weights", weights))
        if not specs or len(weights) != len(specs) or n_plain != len(specs):
            raise CheckpointError(f"a stack needs one weight (and no-task weight) per member: {len(specs)} members, "
                                  f"{len(weights)} weights, {n_plain} no-task weights")
        members = []
        try:
            for spec, w in zip(specs, weights):
                prefix = f"{spec['name']}/"
                tensors = {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}
                models = list(spec.get("models", self.models))
                if not set(models) <= set(self.models):
                    raise CheckpointError(f"stack member {spec['name']!r} scores models {models} outside {self.models}")
                members.append((float(w), Predictor(spec["kind"], models, dict(spec["config"]), tensors,
                                                    list(spec.get("tasks", [])))))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"malformed stack member in the config: {exc!r}") from None
        if {m for _, p in members for m in p.models} != set(self.models):
            raise CheckpointError(f"the stack's members do not cover all of its models {self.models}")
        return members

    @classmethod
    def stack(cls, members: Sequence[tuple[str, float, Predictor]], *, no_task_weights: Sequence[float] | None = None,
              known_tasks: Sequence[str] = ()) -> Predictor:
        """A weighted average of predictors; a model scored by only some members averages over those (renormalised),
        so a model onboarded into one member is scored by it alone. Queries whose task (or a parent) is not in
        ``known_tasks`` use ``no_task_weights`` (default: the same weights)."""
        models = list(dict.fromkeys(m for _, _, p in members for m in p.models))
        config: dict[str, Any] = {"members": [], "weights": [], "known_tasks": list(known_tasks)}
        if no_task_weights is not None:
            config["no_task_weights"] = [float(w) for w in no_task_weights]
        tensors: dict[str, Array] = {}
        for name, w, p in members:
            config["members"].append({"name": name, "kind": p.kind, "config": p.config, "tasks": p.tasks,
                                      "models": p.models})
            config["weights"].append(float(w))
            tensors.update({f"{name}/{k}": v for k, v in p.tensors.items()})
        return cls("stack", models, config, tensors)

    def head(self) -> Predictor:
        """The dc/mf head that onboarding grows: this predictor, or a stack's first dc/mf member."""
        if self.kind in ("dc", "mf"):
            return self
        for _, p in self._members:
            if p.kind in ("dc", "mf"):
                return p
        raise CheckpointError(f"onboarding needs a dc or mf checkpoint (or a stack with one); this one is {self.kind!r}")

    def input_dim(self) -> int | None:
        """Dimension of the query embeddings this predictor reads (None: it reads only the task)."""
        t = self.tensors
        if self.kind == "stack":
            dims = [p.input_dim() for _, p in self._members]
            return next((d for d in dims if d is not None), None)
        if "train_embeddings" in t:
            return int(t["train_embeddings"].shape[1])
        if "coef_0" in t:
            return int(t["coef_0"].shape[0])
        if "proj.0.weight" in t:
            return int(t["proj.0.weight"].shape[1]) - (len(self.tasks) if self.config.get("use_task") else 0)
        return None

    def task_rows(self, tasks: Sequence[str | None] | None, n: int, names: Sequence[str] | None = None) -> NDArray[np.int64]:
        """Row per query in ``names`` (default: this prior's tasks): its task, else the nearest known parent
        ("mmlu/astronomy" → "mmlu"), else ``len(names)`` (the prior's global row)."""
        names = list(self.config.get("prior_tasks", []) if names is None else names)
        index = {t: i for i, t in enumerate(names)}
        rows = np.full(n, len(names), dtype=np.int64)
        for i, t in enumerate(tasks if tasks is not None else [None] * n):
            rows[i] = next((index[family] for family in task_lineage(t) if family in index), len(names))
        return rows

    # -- features -----------------------------------------------------------------------------------------------------
    def task_features(self, n: int, tasks: Sequence[str | None] | None) -> Array:
        """One-hot task columns (all zero for an unknown or absent task), for heads trained with ``use_task``."""
        out = np.zeros((n, len(self.tasks)), dtype=np.float32)
        if tasks is not None:
            for i, t in enumerate(tasks):
                j = self._task_index.get(t) if t is not None else None
                if j is not None:
                    out[i, j] = 1.0
        return out

    def hidden(self, x: Array, tasks: Sequence[str | None] | None = None) -> Array:
        """The query representation a dc/mf head compares with model embeddings."""
        t = self.tensors
        if "input_mean" in t:  # standardised inputs: frozen sentence embeddings share a large common component
            x = (x - t["input_mean"]) / t["input_std"]
        if self.config.get("use_task") and self.tasks:
            x = np.concatenate([x, self.task_features(len(x), tasks)], axis=1)
        h = x @ t["proj.0.weight"].T + t["proj.0.bias"]
        if "proj.2.weight" in t:
            h = gelu_tanh(h) @ t["proj.2.weight"].T + t["proj.2.bias"]
        return h.astype(np.float32)

    def logits(self, x: Array, tasks: Sequence[str | None] | None = None) -> Array:
        """Calibrated logits of a dc/mf head: Platt scale ``a·(h·e_j + b_j) + c`` per model."""
        t = self.tensors
        raw = self.hidden(x, tasks) @ t["model_embeddings"].T + t["model_bias"]
        return raw * t["platt_a"] + t["platt_c"]

    # -- prediction ---------------------------------------------------------------------------------------------------
    def predict(self, x: Array, tasks: Sequence[str | None] | None = None) -> Array:
        """Expected quality in [0, 1], shape (n_queries, n_models)."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"embeddings must be 2-D, got shape {x.shape}")
        if self.kind in ("dc", "mf"):
            return sigmoid(self.logits(x, tasks)).astype(np.float32)
        if self.kind == "mlp":
            return self._predict_mlp(x)
        if self.kind == "prior":
            return self.tensors["task_prior"][self.task_rows(tasks, len(x))]
        if self.kind == "stack":
            return self._predict_stack(x, tasks)
        return self._predict_knn(x)

    def _predict_stack(self, x: Array, tasks: Sequence[str | None] | None) -> Array:
        known_tasks = self.config.get("known_tasks", [])
        knows = self.task_rows(tasks, len(x), known_tasks) < len(known_tasks)
        plain = self.config.get("no_task_weights", self.config["weights"])
        out = np.zeros((len(x), len(self.models)), np.float64)
        weight = np.zeros((len(x), len(self.models)), np.float64)
        index = {m: j for j, m in enumerate(self.models)}
        for (w, p), w_plain in zip(self._members, plain):
            row_w = np.where(knows, w, w_plain)[:, None]
            if not row_w.any():
                continue
            cols = [index[m] for m in p.models]
            out[:, cols] += row_w * p.predict(x, tasks)
            weight[:, cols] += row_w
        return (out / np.maximum(weight, 1e-12)).astype(np.float32)

    def _predict_mlp(self, x: Array) -> Array:
        n_layers = int(self.config["n_layers"])
        h = x
        for i in range(n_layers):
            h = h @ self.tensors[f"coef_{i}"] + self.tensors[f"intercept_{i}"]
            if i < n_layers - 1:
                h = np.maximum(h, 0.0)
        return np.clip(h, 0.0, 1.0).astype(np.float32)

    def _predict_knn(self, x: Array) -> Array:
        ref, y = self.tensors["train_embeddings"], self.tensors["train_quality"]
        k = min(int(self.config["k"]), len(ref))
        sims = x @ ref.T
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < len(ref) else np.tile(np.arange(len(ref)), (len(x), 1))
        neigh = y[idx]  # (n, k, m)
        counts = (~np.isnan(neigh)).sum(axis=1)
        sums = np.nansum(neigh, axis=1)
        prior = self.tensors["model_mean"]
        # Shrink towards the model's mean quality where few neighbours have a recorded outcome.
        return ((sums + prior) / (counts + 1.0)).astype(np.float32)

    # -- growth (onboarding) ------------------------------------------------------------------------------------------
    def with_model(self, name: str, embedding: Array, bias: float) -> Predictor:
        """A copy that also scores ``name`` with the given model embedding and bias (in the dc/mf head; in a stack,
        that member alone scores it)."""
        if self.kind == "stack":
            head = self.head()
            return self._restack(lambda p: p.with_model(name, embedding, bias) if p is head else p.without_model(name))
        if self.kind not in ("dc", "mf"):
            raise CheckpointError(f"onboarding needs a dc or mf checkpoint (model embeddings); this one is {self.kind!r}")
        t = dict(self.tensors)
        models = [m for m in self.models if m != name]
        keep = [self.models.index(m) for m in models]
        for key in ("model_embeddings", "model_bias", "platt_a", "platt_c"):
            t[key] = t[key][keep]
        t["model_embeddings"] = np.vstack([t["model_embeddings"], np.asarray(embedding, np.float32)[None, :]])
        t["model_bias"] = np.append(t["model_bias"], np.float32(bias))
        t["platt_a"] = np.append(t["platt_a"], np.float32(1.0))
        t["platt_c"] = np.append(t["platt_c"], np.float32(0.0))
        return Predictor(self.kind, [*models, name], dict(self.config), t, list(self.tasks))

    #: Axis of each tensor that runs over models, per predictor kind (mlp: only its output layer, handled below).
    _MODEL_AXES: ClassVar[dict[str, dict[str, int]]] = {
        "dc": {"model_embeddings": 0, "model_bias": 0, "platt_a": 0, "platt_c": 0},
        "mf": {"model_embeddings": 0, "model_bias": 0, "platt_a": 0, "platt_c": 0},
        "prior": {"task_prior": 1},
        "knn": {"train_quality": 1, "model_mean": 0},
    }

    def without_model(self, name: str) -> Predictor:
        """A copy that no longer scores ``name``: a re-onboarded model is then scored by a stack's head alone, not
        averaged with the other members' stale columns for it."""
        if name not in self.models:
            return self
        if self.kind == "stack":
            return self._restack(lambda p: p.without_model(name))
        keep = [j for j, m in enumerate(self.models) if m != name]
        axes = dict(self._MODEL_AXES.get(self.kind, {}))
        if self.kind == "mlp":
            last = len(self.config["hidden_layer_sizes"])
            axes = {f"coef_{last}": 1, f"intercept_{last}": 0}
        t = {k: (np.take(v, keep, axis=axes[k]) if k in axes else v) for k, v in self.tensors.items()}
        return Predictor(self.kind, [self.models[j] for j in keep], dict(self.config), t, list(self.tasks))

    def _restack(self, change: Callable[[Predictor], Predictor]) -> Predictor:
        """The stack with ``change`` applied to every member (members left scoring no model are dropped)."""
        c = self.config
        plain = c.get("no_task_weights")
        kept = [(i, spec["name"], w, q) for i, (spec, (w, p)) in enumerate(zip(c["members"], self._members))
                if (q := change(p)).models]
        return Predictor.stack([(n, w, q) for _, n, w, q in kept],
                               no_task_weights=None if plain is None else [float(plain[i]) for i, *_ in kept],
                               known_tasks=c.get("known_tasks", []))

    def expected_shapes(self, dim: int) -> dict[str, tuple[int, ...]]:
        """Tensor shapes implied by the config (what a checkpoint's tensors must match)."""
        m, c = len(self.models), self.config
        if self.kind == "prior":
            return {"task_prior": (len(c.get("prior_tasks", [])) + 1, m)}
        if self.kind == "stack":
            return {f"{spec['name']}/{k}": v for spec, (_, p) in zip(c["members"], self._members)
                    for k, v in p.expected_shapes(dim).items()}
        if self.kind in ("dc", "mf"):
            d_in = dim + (len(self.tasks) if c.get("use_task") else 0)
            hid, k = int(c["hidden"]), int(c["embed_dim"])
            shapes: dict[str, tuple[int, ...]] = {"model_embeddings": (m, k), "model_bias": (m,), "platt_a": (m,),
                                                  "platt_c": (m,), "input_mean": (dim,), "input_std": (dim,)}
            if hid > 0:
                shapes.update({"proj.0.weight": (hid, d_in), "proj.0.bias": (hid,), "proj.2.weight": (k, hid),
                               "proj.2.bias": (k,)})
            else:
                shapes.update({"proj.0.weight": (k, d_in), "proj.0.bias": (k,)})
            return shapes
        if self.kind == "knn":
            n = int(c["n_train"])
            return {"train_embeddings": (n, dim), "train_quality": (n, m), "model_mean": (m,)}
        sizes = [dim, *[int(s) for s in c["hidden_layer_sizes"]], m]
        shapes = {}
        for i in range(len(sizes) - 1):
            shapes[f"coef_{i}"] = (sizes[i], sizes[i + 1])
            shapes[f"intercept_{i}"] = (sizes[i + 1],)
        return shapes
