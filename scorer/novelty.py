"""Novelty of a query against the scorer's training distribution, and shrinkage of predictions toward a robust prior.

The raw score combines several views of the query (``_novelty_views``): class-conditional Gaussian (Mahalanobis)
distances of its embedding and of a few surface features of its text (length, lines, digits, non-ASCII, code symbols,
option markers) to the nearest training task family under a shared Ledoit-Wolf covariance, the relative Mahalanobis
distance, the entropy of a family classifier, the distance to the nearest of a sample of training queries, and the
surprise of its opening and closing words under the training prompts' templates (pooled, per family, and under the
family its embedding points to). Each view is standardised on calibration rows and weighted by a non-negative logistic
model fitted with held-out task families as the novel class ("outlier exposure", ``novelty_training``). The calibrated
score is the share of held-out in-distribution (validation) queries that are less novel: a threshold ``t`` on it flags
about ``1 - t`` of in-distribution queries (its false-positive rate). Numpy only at inference: two (d × d) products, the
family and nearest-query distances and a few dozen hash lookups, under a millisecond at batch 1. Checkpoints of format 1
(the two Mahalanobis views only) still load and score as they did.

A query that names a task the checkpoint never saw in training (``known_tasks``, compared case- and
whitespace-normalised, a parent task counting: "MMLU/new" is known when "mmlu" is) is novel for certain: its calibrated
score is the top, 1.0, and its predictions shrink toward the robust prior by ``label_shrink`` (instead of the text's
weight), a strength learned apart from the text one (on held-out families, whose labels are unseen by construction).
No label (None, empty, "unknown") lets the text decide, and so does a checkpoint whose training rows were not all
labelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import CheckpointError, QueryError
from router_plugins.query import MAX_TASK_CHARS, task_lineage
from router_plugins.scorer._novelty_surface import SURFACE_FEATURES, surface_features
from router_plugins.scorer._novelty_views import LEGACY_VIEWS, VIEW_TENSORS, VIEWS, view_shapes, view_values

Array = NDArray[np.float32]
#: Checkpoint format written by this version (1: the two views ``emb`` + ``surf``, log-distance over a median).
NOVELTY_FORMAT = 2
#: Tensor names under ``novelty/`` every detector has (the views' own ones: ``_novelty_views.VIEW_TENSORS``).
TENSORS = ("emb_whiten", "emb_means", "emb_spread", "surf_center", "surf_scale", "surf_whiten", "surf_means",
           "surf_spread", "quantiles", "robust_prior")


#: Task labels that carry no information (the text decides): compared after normalisation.
NO_LABEL = frozenset({"", "none", "unknown"})


def normalise_task(task: object) -> str | None:
    """The label as compared with the training tasks: lower case, whitespace runs collapsed; None when it carries no
    label. QueryError for a non-string or an over-long label (they are user data)."""
    if task is None:
        return None
    if not isinstance(task, str):
        raise QueryError(f"a query's task must be a string or None, got {type(task).__name__}")
    if len(task) > MAX_TASK_CHARS:
        raise QueryError(f"the query's task label has {len(task):,} characters (limit {MAX_TASK_CHARS:,}): "
                         "pass the task's name, not its text")
    label = " ".join(task.split()).lower()
    return None if label in NO_LABEL else label


def shown_task(label: str, limit: int = 60) -> str:
    """A user's task label made safe to show in a reason or a log line: control characters escaped, shortened."""
    text = label if len(label) <= limit else label[:limit] + "…"
    return text.encode("unicode_escape").decode("ascii").replace("'", "\\'")


#: Default width of the shrinkage ramp on the extended score (from ``shrink_start`` to full ``shrink_max`` over this
#: much): the one training offers its folds (``fit_novelty(ramps=…)`` offers more) and older checkpoints' width.
SHRINK_RAMP = 0.5


def extended_score(raw: NDArray[np.float64], quantiles: NDArray[np.float64]) -> NDArray[np.float64]:
    """The calibrated score (share of calibration queries with a lower raw score), continued beyond 1 for raw scores
    above every calibration query, in units of the calibration's (max − median) spread: 2 = twice as far out."""
    q = np.asarray(quantiles, dtype=np.float64)
    raw = np.asarray(raw, dtype=np.float64)
    inside = np.interp(raw, q, np.linspace(0.0, 1.0, len(q)))
    spread = max(float(q[-1] - q[len(q) // 2]), 1e-9)
    return np.where(raw > q[-1], 1.0 + (raw - q[-1]) / spread, inside)


def shrink_weight(excess: NDArray[np.float64], start: float, top: float,
                  ramp: float = SHRINK_RAMP) -> NDArray[np.float64]:
    """Weight of the robust prior at each extended score: 0 up to ``start``, rising linearly to ``top`` over
    ``ramp``."""
    excess = np.asarray(excess, dtype=np.float64)
    if top <= 0:
        return np.zeros_like(excess)
    return top * np.clip((excess - start) / ramp, 0.0, 1.0)


@dataclass
class NoveltyReading:
    """What the detector says about a batch of queries: calibrated ``score`` in [0, 1] (1.0 for an unseen task label),
    the text's extended score ``excess``, the robust prior's weight ``shrink``, and each unseen label (else None)."""

    score: NDArray[np.float64]
    excess: NDArray[np.float64]
    shrink: NDArray[np.float64]
    unseen: list[str | None]

    def reason(self, i: int) -> str | None:
        """Why query ``i`` is certainly novel, in words (None when the text score decides)."""
        label = self.unseen[i]
        return None if label is None else f"task '{shown_task(label)}' not seen in training"


@dataclass
class NoveltyModel:
    """A calibrated novelty detector plus the shrinkage it drives; see the module docstring."""

    families: list[str]
    tensors: dict[str, Array]
    weights: tuple[float, ...]  # of each view, (value − center) / scale
    centers: tuple[float, ...]  # of each view on the calibration rows (format 1: log of the median distance)
    prior_models: list[str]  # columns of ``robust_prior``
    shrink_start: float = 1.0  # extended score where shrinkage starts (see extended_score); below 0: a floor
    shrink_max: float = 0.0  # share of the robust prior from shrink_start + shrink_ramp on (0: never shrink)
    info: dict[str, Any] = field(default_factory=dict)
    #: Training task names (and parents) as spelled in the data; empty: a label proves nothing (rule off).
    known_tasks: list[str] = field(default_factory=list)
    #: Weight of the robust prior for a query whose task label is unseen (learned on held-out families).
    label_shrink: float = 0.0
    #: The views combined (``_novelty_views.VIEWS``), and each one's spread on the calibration rows.
    views: tuple[str, ...] = LEGACY_VIEWS
    scales: tuple[float, ...] = (1.0, 1.0)
    #: Width of the text shrinkage's ramp on the extended score (chosen by the folds with shrink_start, shrink_max).
    shrink_ramp: float = SHRINK_RAMP

    def __post_init__(self) -> None:
        self.tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in self.tensors.items()}
        self.validate()
        self.set_known_tasks(self.known_tasks)

    def set_known_tasks(self, tasks: Sequence[str]) -> None:
        """Replace the training task names the label rule compares with (empty: the rule is off)."""
        self.known_tasks = [str(t) for t in tasks]
        self._spelling = {label: t for t in self.known_tasks if (label := normalise_task(t)) is not None}

    # -- validation (checkpoints are untrusted input) ------------------------------------------------------------------
    def validate(self, dim: int | None = None) -> None:
        """Raise CheckpointError naming the first malformed value: shapes, finiteness, sorted quantiles, ranges."""
        t = self.tensors
        missing = [k for k in TENSORS if k not in t]
        if missing:
            raise CheckpointError(f"novelty detector lacks tensor(s) {missing}; retrain the checkpoint")
        n_fam, k = len(self.families), len(SURFACE_FEATURES)
        d = t["emb_whiten"].shape[0] if dim is None else dim
        shapes = {"emb_whiten": (d, d), "emb_means": (n_fam, d), "emb_spread": (n_fam,), "surf_center": (k,),
                  "surf_scale": (k,), "surf_whiten": (k, k), "surf_means": (n_fam, k), "surf_spread": (n_fam,),
                  "robust_prior": (len(self.prior_models),)}
        for key, shape in shapes.items():
            if t[key].shape != shape:
                raise CheckpointError(f"novelty tensor {key!r} has shape {t[key].shape}, expected {shape} "
                                      f"({n_fam} families, embedding dim {d}); the checkpoint is corrupt or mixed")
        if n_fam == 0 or len(set(self.families)) != n_fam:
            raise CheckpointError(f"novelty families must be distinct and non-empty, got {self.families}")
        for key, v in t.items():
            if not np.isfinite(v).all():
                raise CheckpointError(f"novelty tensor {key!r} holds NaN or infinite values; retrain the checkpoint")
        q = t["quantiles"]
        if q.ndim != 1 or len(q) < 2 or (np.diff(q) < 0).any():
            raise CheckpointError("novelty calibration quantiles must be a sorted 1-D array of ≥ 2 values")
        for key in ("surf_scale", "emb_spread", "surf_spread"):
            if (t[key] <= 0).any():
                raise CheckpointError(f"novelty tensor {key!r} must be positive (it divides distances)")
        self._validate_views(d)
        bounds = (("shrink_start", self.shrink_start, -10.0, 100.0), ("shrink_max", self.shrink_max, 0.0, 1.0),
                  ("shrink_ramp", self.shrink_ramp, 0.01, 10.0))
        for name, v, lo, hi in bounds:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= float(v) <= hi:
                raise CheckpointError(f"novelty {name} must be a number in [{lo:g}, {hi:g}], got {v!r}")
        label_shrink = self.label_shrink
        if (isinstance(label_shrink, bool) or not isinstance(label_shrink, (int, float))
                or not 0.0 <= label_shrink <= 1.0):
            raise CheckpointError(f"novelty label_shrink must be a number in [0, 1], got {label_shrink!r}")
        if not isinstance(self.known_tasks, list) or not all(isinstance(t, str) and len(t) <= MAX_TASK_CHARS
                                                             for t in self.known_tasks):
            raise CheckpointError(f"novelty known_tasks must be a list of task names of ≤ {MAX_TASK_CHARS} "
                                  "characters; the checkpoint is corrupt, retrain it")
        if not ((self.tensors["robust_prior"] >= 0) & (self.tensors["robust_prior"] <= 1)).all():
            raise CheckpointError("novelty robust_prior must lie in [0, 1] (expected quality per model)")

    def _validate_views(self, d: int) -> None:
        views, t = self.views, self.tensors
        if (not isinstance(views, tuple) or not views or len(set(views)) != len(views)
                or not all(isinstance(v, str) and v in VIEWS for v in views)):
            raise CheckpointError(f"novelty views must be distinct names among {list(VIEWS)}, got {views!r}; "
                                  "retrain the checkpoint with this version")
        for name, nums in (("weights", self.weights), ("centers", self.centers), ("scales", self.scales)):
            if (len(nums) != len(views)
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in nums)):
                raise CheckpointError(f"novelty {name} must be one finite number per view ({len(views)}), got {nums!r}")
        if min(self.scales) <= 0:
            raise CheckpointError(f"novelty scales must be positive (they divide the views), got {self.scales}")
        bank_rows = t["bank"].shape[0] if "bank" in t and t["bank"].ndim == 2 else -1
        edge_rows, tmpl_rows = (t[k].shape[0] if k in t and t[k].ndim == 1 else -1 for k in ("edge_keys", "tmpl_keys"))
        for key, shape in view_shapes(views, len(self.families), d, bank_rows, edge_rows, tmpl_rows).items():
            if key not in t or t[key].shape != shape or (key in ("bank", "edge_keys", "tmpl_keys") and shape[0] < 1):
                found = t[key].shape if key in t else "nothing"
                raise CheckpointError(f"novelty tensor {key!r} (for the views {list(views)}) has shape {found}, "
                                      f"expected {shape}; the checkpoint is corrupt or mixed")
        needed = {name for view in views for name in VIEW_TENSORS[view]}
        for table in ("edge", "tmpl"):  # hashes are looked up by binary search; counts must be counts
            if f"{table}_keys" not in needed:
                continue
            keys, counts = t[f"{table}_keys"], t[f"{table}_counts"]
            if ((np.diff(keys) <= 0).any() or keys.min() < 0 or keys.max() >= 2 ** 24
                    or (keys != np.round(keys)).any() or (counts < 1).any()):
                raise CheckpointError(f"novelty tensors '{table}_keys' / '{table}_counts' must be strictly increasing "
                                      "24-bit hashes with counts ≥ 1; the checkpoint is corrupt or mixed")

    # -- scoring -----------------------------------------------------------------------------------------------------
    def raw(self, x: NDArray[np.float32], texts: Sequence[str]) -> NDArray[np.float64]:
        """Uncalibrated novelty: the weighted, standardised views (higher = more novel)."""
        z = (self.view_values(x, texts) - np.asarray(self.centers)) / np.asarray(self.scales)
        return z @ np.asarray(self.weights, dtype=np.float64)

    def view_values(self, x: NDArray[np.float32], texts: Sequence[str]) -> NDArray[np.float64]:
        """(n, len(views)) value of each view before standardising (``_novelty_views``)."""
        t = self._scoring_tensors()
        s = (surface_features(texts) - t["surf_center"]) / t["surf_scale"] if "surf" in self.views \
            else np.zeros((len(texts), 0))
        return view_values(t, np.asarray(x, dtype=np.float64), s, self.views, texts)

    def _scoring_tensors(self) -> dict[str, NDArray]:
        """The tensors in float64, but the ``bank`` (read in float32), converted once per tensor dict: a float32
        operand of a float64 product or binary search is otherwise copied on every query."""
        cached = getattr(self, "_float64", None)
        if cached is None or cached[0] is not self.tensors:
            cached = (self.tensors, {k: v if k == "bank" else v.astype(np.float64) for k, v in self.tensors.items()})
            self._float64 = cached
        return cached[1]

    def calibrate(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        """Share of the calibration (in-distribution validation) queries with a lower raw score, in [0, 1]."""
        q = self._scoring_tensors()["quantiles"]
        return np.interp(raw, q, np.linspace(0.0, 1.0, len(q)))

    def excess(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        """The calibrated score continued beyond 1 (see ``extended_score``): what shrinkage reads."""
        return extended_score(raw, self._scoring_tensors()["quantiles"])

    def score(self, x: NDArray[np.float32], texts: Sequence[str]) -> NDArray[np.float64]:
        """Calibrated novelty in [0, 1]: a threshold t flags about 1 − t of in-distribution queries."""
        return self.calibrate(self.raw(x, texts))

    def alpha(self, excess: NDArray[np.float64], unseen: Sequence[str | None] | None = None) -> NDArray[np.float64]:
        """Weight of the robust prior per query: from its extended score (``excess``), or ``label_shrink`` where
        ``unseen`` names a task label the checkpoint never saw (the strength learned for exactly that case)."""
        a = shrink_weight(excess, self.shrink_start, self.shrink_max, self.shrink_ramp)
        if unseen is not None:
            a = np.where(np.array([u is not None for u in unseen], dtype=bool), self.label_shrink, a)
        return a

    # -- task labels -------------------------------------------------------------------------------------------------
    def unseen_task(self, task: object) -> str | None:
        """The normalised label when the query names a task unseen in training (nor any parent of it), else None
        (no label, a known one, or a checkpoint whose training rows were not all labelled)."""
        label = normalise_task(task)
        if label is None or not self._spelling:
            return None
        return None if self._known_ancestor(label) is not None else label

    def _known_ancestor(self, label: str) -> str | None:
        return next((family for family in task_lineage(label) if family in self._spelling), None)

    def canonical_task(self, task: object) -> str | None:
        """The label as the predictor knows it: a known task in its training spelling (a known parent's spelling
        plus the rest), None for an unseen label or none (so no member reads an unseen label as a known one); the
        label unchanged when the checkpoint stores no task list."""
        label = normalise_task(task)
        if label is None:
            return None
        if not self._spelling:
            return task  # type: ignore[return-value]  # a str: normalise_task checked it
        node = self._known_ancestor(label)
        return None if node is None else self._spelling[node] + label[len(node):]

    def read(self, x: NDArray[np.float32], texts: Sequence[str],
             tasks: Sequence[object] | None = None) -> NoveltyReading:
        """Score, extended score, shrinkage weight and unseen label of each query (see NoveltyReading)."""
        excess = self.excess(self.raw(x, texts))
        # with a task list, a label is unseen (certain novelty) or known; a known label vouches for the query: its
        # text score is reported but does not shrink (on RouterBench, MiniLM stack, shrinking labelled queries by
        # their text cost 0.0045 AIQ; the text strength is for unlabelled traffic)
        labels = [normalise_task(t) for t in tasks] if tasks is not None and self._spelling else [None] * len(texts)
        nodes = [None if label is None else self._known_ancestor(label) for label in labels]
        unseen = [label if node is None else None for label, node in zip(labels, nodes)]
        score = np.where(np.array([u is not None for u in unseen], dtype=bool), 1.0, np.minimum(excess, 1.0))
        known = np.array([node is not None for node in nodes], dtype=bool)
        return NoveltyReading(score, excess, np.where(known, 0.0, self.alpha(excess, unseen)), unseen)

    def shrink(self, pred: NDArray[np.float32], models: Sequence[str], excess: NDArray[np.float64],
               alpha: NDArray[np.float64] | None = None) -> NDArray[np.float32]:
        """Predictions moved toward each model's quality across all training tasks; models without a prior stay.
        ``alpha`` (e.g. a NoveltyReading's ``shrink``) replaces the text-only weight read from ``excess``."""
        a = self.alpha(excess) if alpha is None else np.asarray(alpha, dtype=np.float64)
        if not a.any():
            return pred
        index = {m: j for j, m in enumerate(self.prior_models)}
        cols = [j for j, m in enumerate(models) if m in index]
        out = np.array(pred, dtype=np.float32, copy=True)
        prior = self.tensors["robust_prior"][[index[models[j]] for j in cols]]
        out[:, cols] = (1.0 - a[:, None]) * out[:, cols] + a[:, None] * prior[None, :]
        return out

    # -- storage -----------------------------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """JSON-able part (stored under the checkpoint config's ``novelty`` key)."""
        return {"method": "+".join(self.views), "format": NOVELTY_FORMAT, "families": list(self.families),
                "surface_features": list(SURFACE_FEATURES), "views": list(self.views),
                "weights": [float(w) for w in self.weights], "centers": [float(c) for c in self.centers],
                "scales": [float(c) for c in self.scales], "prior_models": list(self.prior_models),
                "shrink_start": float(self.shrink_start), "shrink_max": float(self.shrink_max),
                "shrink_ramp": float(self.shrink_ramp), "known_tasks": list(self.known_tasks),
                "label_shrink": float(self.label_shrink), "info": self.info}

    def prefixed_tensors(self) -> dict[str, Array]:
        """Tensors under ``novelty/`` (they share the checkpoint's safetensors file with the predictor's)."""
        return {f"novelty/{k}": v for k, v in self.tensors.items()}

    @classmethod
    def from_checkpoint(cls, config: Mapping[str, Any], tensors: Mapping[str, Array], dim: int) -> NoveltyModel:
        """Rebuild from a checkpoint's ``novelty`` config and ``novelty/*`` tensors; CheckpointError when malformed."""
        if not isinstance(config, Mapping):
            raise CheckpointError(f"the checkpoint's 'novelty' entry must be an object, got {type(config).__name__}")
        if list(config.get("surface_features", [])) != list(SURFACE_FEATURES):
            raise CheckpointError("the checkpoint's novelty detector uses other surface features "
                                  f"({config.get('surface_features')}); retrain it with this version")
        try:
            families = [str(f) for f in config["families"]]
            prior_models = [str(m) for m in config["prior_models"]]
            views, weights, centers, scales = _read_views(config)
            start, top = config["shrink_start"], config["shrink_max"]
            ramp = config.get("shrink_ramp", SHRINK_RAMP)  # every checkpoint stored it; older ones as the constant
            # checkpoints written before the label rule lack both: no task list (rule off), no label shrinkage
            known, label_shrink = config.get("known_tasks", []), config.get("label_shrink", 0.0)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"malformed novelty entry in the checkpoint config: {exc!r}") from None
        if isinstance(start, bool) or isinstance(top, bool) or isinstance(ramp, bool):
            raise CheckpointError("novelty shrink_start / shrink_max / shrink_ramp must be numbers, not booleans")
        own = {k[len("novelty/"):]: v for k, v in tensors.items() if k.startswith("novelty/")}
        info = config.get("info", {})
        model = cls.__new__(cls)
        model.families, model.tensors, model.prior_models = families, {k: np.asarray(v, np.float32) for k, v in own.items()}, prior_models
        model.weights, model.centers, model.views, model.scales = weights, centers, views, scales
        model.shrink_start, model.shrink_max, model.info = start, top, dict(info) if isinstance(info, Mapping) else {}
        model.known_tasks, model.label_shrink, model.shrink_ramp = known, label_shrink, ramp
        model.validate(dim)
        model.shrink_start, model.shrink_max, model.label_shrink = float(start), float(top), float(label_shrink)
        model.shrink_ramp = float(ramp)
        model.set_known_tasks(known)
        return model


def _read_views(config: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...],
                                                    tuple[float, ...]]:
    """(views, weights, centers, scales) of a stored detector. Format 1 (no ``format`` key) stored two weights and
    the median distance of each view: its view values are log-distances, so the center is the median's log."""
    fmt = config.get("format", 1)
    if isinstance(fmt, bool) or fmt not in (1, NOVELTY_FORMAT):
        raise CheckpointError(f"novelty format {fmt!r} is not one this version reads (1 or {NOVELTY_FORMAT}); "
                              "upgrade router-plugins or retrain the checkpoint")
    if fmt == 1:
        weights = tuple(float(w) for w in config["weights"])
        medians = tuple(float(m) for m in config["medians"])
        if len(weights) != 2 or len(medians) != 2 or not np.isfinite(weights + medians).all():
            raise CheckpointError(f"novelty weights / medians must be two finite numbers each, got "
                                  f"{list(weights)} / {list(medians)}")
        if min(medians) <= 0:
            raise CheckpointError(f"novelty medians must be positive, got {list(medians)}")
        return LEGACY_VIEWS, weights, tuple(float(np.log(m)) for m in medians), (1.0, 1.0)
    views = config["views"]
    if not isinstance(views, list) or not all(isinstance(v, str) for v in views):
        raise CheckpointError(f"novelty views must be a list of names, got {views!r}")
    return tuple(views), _numbers(config, "weights"), _numbers(config, "centers"), _numbers(config, "scales")


def _numbers(config: Mapping[str, Any], key: str) -> tuple[float, ...]:
    """A stored list of numbers (booleans and strings refused: JSON ``true`` must not read as 1.0)."""
    values = config[key]
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise CheckpointError(f"novelty {key} must be one finite number per view, got {values!r}")
    return tuple(float(v) for v in values)
