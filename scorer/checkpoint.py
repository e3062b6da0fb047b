"""Checkpoints: ``weights.safetensors`` + ``config.json`` (never pickle). Loading verifies the sha256 of the weights,
every tensor's shape against the config, and (when asked) the model names, and raises CheckpointError otherwise.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from router_plugins.errors import CheckpointError
from router_plugins.scorer.novelty import NoveltyModel
from router_plugins.scorer.predictors import KINDS, Predictor

FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
CONFIG = "config.json"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (recorded next to weights to detect tampering)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_checkpoint(predictor: Predictor, out_dir: str | Path, *, encoder: dict[str, Any],
                    extra: dict[str, Any] | None = None, novelty: NoveltyModel | None = None) -> Path:
    """Write a predictor and its metadata; ``encoder`` = {"spec", "id", "dim"} says how queries were embedded; the
    novelty detector's tensors go under ``novelty/`` in the same weights file, its settings under ``novelty``."""
    from safetensors.numpy import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS
    tensors = dict(predictor.tensors)
    if novelty is not None:
        tensors.update(novelty.prefixed_tensors())
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, str(weights))
    config = {
        "format": "router-plugins-scorer",
        "format_version": FORMAT_VERSION,
        "kind": predictor.kind,
        "models": list(predictor.models),
        "tasks": list(predictor.tasks),
        "config": predictor.config,
        "encoder": encoder,
        "tensors": {k: list(v.shape) for k, v in predictor.tensors.items()},
        "weights_sha256": file_sha256(weights),
        **(extra or {}),
    }
    if novelty is not None:
        config["novelty"] = novelty.config()
    (out / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True, default=_json_default))
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def read_config(path: str | Path) -> dict[str, Any]:
    """The checkpoint's config.json, validated for the keys every checkpoint has."""
    folder = Path(path)
    cfg_file = folder / CONFIG
    if not cfg_file.is_file():
        raise CheckpointError(f"{folder}: no {CONFIG}; a checkpoint folder holds {CONFIG} and {WEIGHTS} "
                              "(train one with `router-plugins train`)")
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{cfg_file}: not valid JSON ({exc}); the checkpoint is truncated or corrupt") from None
    missing = [k for k in ("format_version", "kind", "models", "tensors", "weights_sha256", "encoder") if k not in cfg]
    if missing:
        raise CheckpointError(f"{cfg_file}: missing key(s) {missing}; not a router-plugins scorer checkpoint")
    if cfg["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"{cfg_file}: format_version {cfg['format_version']} is not supported "
                              f"(this version reads {FORMAT_VERSION}); retrain the checkpoint")
    if cfg["kind"] not in KINDS:
        raise CheckpointError(f"{cfg_file}: unknown kind {cfg['kind']!r}; expected one of {KINDS}")
    return cfg


def load_checkpoint(path: str | Path, *, expected_models: Sequence[str] | None = None, encoder_id: str | None = None,
                    with_novelty: bool = False) -> Any:
    """Load and verify a checkpoint; returns the predictor and its config (and, ``with_novelty``, its novelty detector
    or None). Raises CheckpointError on any mismatch or malformed value."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = Path(path)
    cfg = read_config(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{folder}: no {WEIGHTS}")
    digest = file_sha256(weights)
    if digest != cfg["weights_sha256"]:
        raise CheckpointError(f"{weights}: sha256 {digest[:12]}… does not match the {cfg['weights_sha256'][:12]}… "
                              "recorded in config.json: the weights were modified or truncated; retrain or re-copy it")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights}: unreadable safetensors file ({exc})") from None
    models = list(cfg["models"])
    if len(set(models)) != len(models) or not models:
        raise CheckpointError(f"{folder}: the model list is empty or has duplicates: {models}")
    own = {k: v for k, v in tensors.items() if not k.startswith("novelty/")}
    predictor = Predictor(cfg["kind"], models, dict(cfg.get("config", {})), own, list(cfg.get("tasks", [])))
    dim = int(cfg["encoder"].get("dim", 0))
    novelty = None
    if "novelty" in cfg:
        novelty = NoveltyModel.from_checkpoint(cfg["novelty"], tensors, dim)
    elif len(own) != len(tensors):
        raise CheckpointError(f"{folder}: the weights hold novelty/* tensors but config.json has no 'novelty' entry")
    expected = predictor.expected_shapes(dim)
    recorded = {k: tuple(v) for k, v in cfg["tensors"].items() if not k.startswith("novelty/")}
    actual = {k: tuple(v.shape) for k, v in predictor.tensors.items()}
    for label, shapes in (("config.json 'tensors'", recorded), ("weights file", actual)):
        if shapes != expected:
            diff = sorted(k for k in set(shapes) | set(expected) if shapes.get(k) != expected.get(k))
            raise CheckpointError(
                f"{folder}: {label} does not match the config ({len(models)} models, encoder dim {dim}): "
                + "; ".join(f"{k}: {shapes.get(k)} vs expected {expected.get(k)}" for k in diff[:6])
            )
    if expected_models is not None and list(expected_models) != models:
        unknown = [m for m in expected_models if m not in models]
        raise CheckpointError(f"{folder}: trained for models {models}, asked for {list(expected_models)}"
                              + (f" (unknown: {unknown})" if unknown else " (different order)"))
    if encoder_id is not None and cfg["encoder"].get("id") != encoder_id:
        raise CheckpointError(f"{folder}: trained on embeddings of encoder {cfg['encoder'].get('id')!r}, "
                              f"but the encoder given is {encoder_id!r}; use the checkpoint's encoder or retrain")
    return (predictor, cfg, novelty) if with_novelty else (predictor, cfg)
