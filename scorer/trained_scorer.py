"""The Scorer the router uses: an encoder plus a trained predictor, scoring any pool.

Models the predictor does not know are scored by their card's own ``quality`` prior when it has one, else estimated
zero-shot as a blend of the known models' predictions weighted by card-feature similarity (price per query, size);
``unknown="error"`` raises ScorerError naming them instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.cards import ModelCard, ModelPool
from router_plugins.errors import CheckpointError, ConfigError, ScorerError
from router_plugins.query import Query
from router_plugins.scorer.cards_features import blend_weights, card_features, parse_size_b
from router_plugins.scorer.encoders import CachedEncoder, Encoder, make_encoder
from router_plugins.scorer.novelty import NoveltyModel, NoveltyReading
from router_plugins.scorer.predictors import Predictor

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "default"


class TrainedScorer:
    """``predict(queries, pool) -> array[n_queries, n_models]`` of expected quality in [0, 1] (the Scorer protocol)."""

    def __init__(self, predictor: Predictor, encoder: Encoder, *, meta: dict[str, Any] | None = None,
                 unknown: str = "zero-shot", encoder_spec: str | None = None,
                 novelty: NoveltyModel | None = None) -> None:
        if unknown not in ("zero-shot", "error"):
            raise ConfigError(f"unknown= must be 'zero-shot' or 'error', got {unknown!r}")
        self.predictor = predictor
        self.encoder = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder, persist=False)
        self.meta = dict(meta or {})
        self.unknown = unknown
        self.encoder_spec = encoder_spec or self.meta.get("encoder", {}).get("spec")
        self._column_cache: dict[tuple[str, ...], tuple[list[int | None], dict[int, Any]]] = {}
        #: The calibrated novelty detector (None for checkpoints trained without one).
        self.novelty = novelty
        #: Whether predictions of novel queries shrink toward the robust prior (off: for ablations).
        self.shrink = True

    # -- construction ---------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, *, encoder: Encoder | None = None, unknown: str = "zero-shot") -> TrainedScorer:
        """Load a checkpoint folder and the encoder it names: a built-in one, or a folder inside the checkpoint (a
        checkpoint cannot make the loader read a model from elsewhere; pass ``encoder=`` for that)."""
        from router_plugins.scorer.checkpoint import confined_encoder_folder, load_checkpoint, read_config

        folder = Path(path)
        cfg = read_config(folder)
        if encoder is None:
            spec = cfg["encoder"].get("spec") if isinstance(cfg["encoder"], dict) else None
            if spec not in (None, "minilm", "default", "fast"):
                spec = str(confined_encoder_folder(folder, spec))
            encoder = make_encoder(spec)
        predictor, cfg, novelty = load_checkpoint(folder, encoder_id=encoder.id, with_novelty=True)
        return cls(predictor, encoder, meta=cfg, unknown=unknown, novelty=novelty)

    def save(self, path: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
        """Write the checkpoint (weights + config with sha256, encoder, per-model cost and card features)."""
        from router_plugins.scorer.checkpoint import save_checkpoint

        keep = {k: v for k, v in self.meta.items() if k not in
                ("format", "format_version", "kind", "models", "tasks", "config", "encoder", "tensors", "weights_sha256",
                 "novelty")}
        keep.update(extra or {})
        enc = {"spec": self.encoder_spec, "id": self.encoder.id, "dim": int(self._dim())}
        return save_checkpoint(self.predictor, path, encoder=enc, extra=keep, novelty=self.novelty)

    def _dim(self) -> int:
        dim = self.predictor.input_dim()
        return int(dim if dim is not None else self.encoder.dim)

    # -- what it knows ---------------------------------------------------------------------------------------------
    @property
    def models(self) -> list[str]:
        """The models this scorer was trained (or onboarded) on."""
        return list(self.predictor.models)

    @property
    def known_tasks(self) -> frozenset[str]:
        """The task families seen in training (predictor, stack members, novelty detector)."""
        from router_plugins.scorer.checkpoint import trained_tasks

        return trained_tasks({"tasks": list(self.predictor.tasks), "config": self.predictor.config,
                              "novelty": None if self.novelty is None else self.novelty.config()})

    @property
    def cost_per_query(self) -> dict[str, float]:
        """Mean USD cost per query of each known model on its training data (empty when the data had no cost)."""
        return dict(self.meta.get("cost_per_query") or {})

    def model_features(self) -> dict[str, dict[str, float | None]]:
        """Card features of the known models (stored at training time)."""
        return dict(self.meta.get("model_features") or {})

    # -- scoring ---------------------------------------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Query embeddings (cached in memory by text hash)."""
        return self.encoder.encode(list(texts))

    def predict_known(self, queries: Sequence[Query | str], *,
                      reading: NoveltyReading | None = None) -> NDArray[np.float32]:
        """Expected quality of every known model, (n_queries, n_known); novel queries shrink toward the robust prior
        (a query naming a task unseen in training by the learned ``label_shrink``), and no member reads an unseen label."""
        qs = [Query.coerce(q) for q in queries]
        texts = [q.text for q in qs]
        x = self.embed(texts)
        if self.novelty is None:
            return self.predictor.predict(x, [q.task for q in qs])
        pred = self.predictor.predict(x, [self.novelty.canonical_task(q.task) for q in qs])
        if self.shrink:  # ``reading``: this batch's novelty_reading, when the caller already has it
            reading = reading or self.novelty.read(x, texts, [q.task for q in qs])
            pred = self.novelty.shrink(pred, self.predictor.models, reading.excess, reading.shrink)
        return pred

    def novelty_reading(self, queries: Sequence[Query | str]) -> NoveltyReading | None:
        """The detector's reading of each query (score, extended score, shrinkage, unseen task label), or None when
        the checkpoint has no detector. Embeddings come from the encoder's cache when already computed."""
        if self.novelty is None:
            return None
        qs = [Query.coerce(q) for q in queries]
        texts = [q.text for q in qs]
        reading = self.novelty.read(self.embed(texts), texts, [q.task for q in qs])
        if not self.shrink:
            reading.shrink = np.zeros_like(reading.shrink)
        return reading

    def novelty_scores(self, queries: Sequence[Query | str], *, extended: bool = False) -> NDArray[np.float64] | None:
        """Calibrated novelty per query in [0, 1] (a threshold t flags about 1 − t of in-distribution queries; a task
        label unseen in training gives the top, 1.0), or with ``extended`` the text's score continued beyond 1 that
        the text shrinkage reads; None when the checkpoint has no detector."""
        reading = self.novelty_reading(queries)
        if reading is None:
            return None
        return reading.excess if extended else reading.score

    def predict(self, queries: Sequence[Query | str], pool: ModelPool | Sequence[str] | None = None, *,
                reading: NoveltyReading | None = None) -> NDArray[np.float32]:
        """Expected quality in [0, 1] for each query × pool model (pool order); all known models when pool is None."""
        known = self.predict_known(queries, reading=reading)
        if pool is None:
            return known
        cards = list(pool.cards) if isinstance(pool, ModelPool) else [ModelCard(name=n) for n in pool]
        cols, extra = self._columns(cards)
        out = np.empty((len(known), len(cards)), dtype=np.float32)
        for j, col in enumerate(cols):
            if col is not None:
                out[:, j] = known[:, col]
            elif isinstance(extra[j], float):
                out[:, j] = extra[j]
            else:
                out[:, j] = known @ extra[j]
        return np.clip(out, 0.0, 1.0)

    def _columns(self, cards: list[ModelCard]) -> tuple[list[int | None], dict[int, Any]]:
        key = tuple(c.name for c in cards)
        if key in self._column_cache:
            return self._column_cache[key]
        index = {m: i for i, m in enumerate(self.predictor.models)}
        unknown = [c.name for c in cards if c.name not in index and c.prior_quality() is None]
        if unknown and self.unknown == "error":
            raise ScorerError(f"the scorer does not know model(s) {unknown}; it knows {self.predictor.models}. "
                              "Onboard them (`router-plugins onboard`) or use unknown='zero-shot'")
        cols: list[int | None] = []
        extra: dict[int, Any] = {}
        for j, card in enumerate(cards):
            if card.name in index:
                cols.append(index[card.name])
                continue
            cols.append(None)
            prior = card.prior_quality()
            extra[j] = float(prior) if prior is not None else self.zero_shot_weights(card)
        self._column_cache[key] = (cols, extra)
        return cols, extra

    def card_cost_per_query(self, card: ModelCard) -> float | None:
        """A card's USD per query at the training data's mean input tokens and the card's typical output tokens."""
        if card.input_price == 0 and card.output_price == 0:
            return None
        tokens_in = float(self.meta.get("mean_input_tokens") or 200.0)
        return card.cost_usd(tokens_in)

    def zero_shot_weights(self, card: ModelCard) -> NDArray[np.float32]:
        """Blend weights over known models for an unknown card (nearest models by price per query and size)."""
        known = self.model_features()
        feats = card_features(self.card_cost_per_query(card), card.size_b or parse_size_b(card.name, card.description))
        if not known:
            return np.full(len(self.predictor.models), 1.0 / len(self.predictor.models), dtype=np.float32)
        names, w = blend_weights(feats, {m: known.get(m, {}) for m in self.predictor.models})
        return np.asarray([w[names.index(m)] for m in self.predictor.models], dtype=np.float32)

    def with_predictor(self, predictor: Predictor, meta_update: dict[str, Any] | None = None) -> TrainedScorer:
        """A copy with another predictor (after onboarding), sharing the encoder and its cache."""
        meta = dict(self.meta)
        meta.update(meta_update or {})
        out = TrainedScorer(predictor, self.encoder, meta=meta, unknown=self.unknown, encoder_spec=self.encoder_spec,
                            novelty=self.novelty)
        out.shrink = self.shrink
        return out


def load_default_scorer(*, unknown: str = "zero-shot") -> TrainedScorer:
    """The checkpoint shipped in the package (fast static encoder; trained on MIT / Apache-2.0 data only)."""
    if not (DEFAULT_CHECKPOINT / "config.json").is_file():
        raise CheckpointError(f"no default checkpoint at {DEFAULT_CHECKPOINT}; reinstall router-plugins")
    return TrainedScorer.load(DEFAULT_CHECKPOINT, unknown=unknown)
