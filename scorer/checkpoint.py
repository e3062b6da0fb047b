"""Checkpoints: ``weights.safetensors`` + ``config.json`` (never pickle). Loading verifies the sha256 of the weights,
every tensor's shape against the config, and (when asked) the model names, and raises CheckpointError otherwise.
Saving creates the files 0600 and missing folders 0700: a checkpoint can hold training queries' embeddings (kNN).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from router_plugins._files import private_dir, write_private
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
    from safetensors.numpy import save

    out = private_dir(out_dir)
    tensors = dict(predictor.tensors)
    if novelty is not None:
        tensors.update(novelty.prefixed_tensors())
    weights = write_private(out / WEIGHTS, save({k: np.ascontiguousarray(v, dtype=np.float32)
                                                  for k, v in tensors.items()}))
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
    write_private(out / CONFIG, json.dumps(config, indent=2, sort_keys=True, default=_json_default).encode("utf-8"))
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


#: Predictor settings that are counts: integers, and at least this much.
_COUNTS = {"k": 1, "n_layers": 0, "hidden": 0, "embed_dim": 1, "n_clusters": 1}
#: Weight files that unpickle (run code) when loaded: never loaded from a checkpoint.
_PICKLED = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}


def confined_encoder_folder(folder: Path, spec: Any) -> Path:
    """The encoder folder a checkpoint names, which must lie inside the checkpoint and hold no pickled weights and
    no remote code; CheckpointError otherwise."""
    if not isinstance(spec, str) or not spec or Path(spec).is_absolute():
        raise CheckpointError(f"{folder}: encoder spec {spec!r} is not a folder inside the checkpoint; a checkpoint may "
                              "only name a built-in encoder or its own subfolder (pass encoder= to use another one)")
    root = folder.resolve()
    path = (folder / spec).resolve()
    if path != root and root not in path.parents:
        raise CheckpointError(f"{folder}: encoder spec {spec!r} points outside the checkpoint folder; pass encoder= "
                              "to use an encoder from elsewhere")
    if not path.is_dir():
        raise CheckpointError(f"{folder}: encoder folder {spec!r} is missing")
    files = [f for f in path.rglob("*") if f.is_file()]
    if any(f.suffix in _PICKLED for f in files) or any(f.suffix == ".py" for f in files):
        raise CheckpointError(f"{path}: the encoder folder holds pickled weights or Python code, which loading would "
                              "run; checkpoints carry safetensors weights only")
    config = path / "config.json"
    if config.is_file():
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{config}: not valid JSON ({exc})") from None
        if isinstance(data, dict) and ("auto_map" in data or data.get("trust_remote_code")):
            raise CheckpointError(f"{config}: the encoder asks for remote code (auto_map); it is never loaded")
    return path


def _check_predictor_config(folder: Path, config: Any) -> dict[str, Any]:
    """The predictor's settings, with counts as integers in range and every number finite; CheckpointError else."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{folder}: 'config' must be an object, got {type(config).__name__}")

    def walk(value: Any, where: str) -> None:
        if isinstance(value, float) and not np.isfinite(value):
            raise CheckpointError(f"{folder}: config value {where} is not finite ({value})")
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")

    walk(config, "config")
    for key, low in _COUNTS.items():
        if key in config:
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise CheckpointError(f"{folder}: config {key!r} must be an integer ≥ {low}, got {value!r}")
    for member in config.get("members", []) if isinstance(config.get("members"), list) else []:
        if isinstance(member, dict):
            _check_predictor_config(folder, member.get("config", {}))
    return config


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
    # recorded labels (kNN's train_quality) mark "not recorded" with NaN; every learned weight must be finite
    bad = sorted(k for k, v in tensors.items()
                 if np.isinf(v).any() or (not k.endswith("train_quality") and np.isnan(v).any()))
    if bad:
        raise CheckpointError(f"{weights}: tensor(s) {bad[:5]} hold NaN or infinite values; retrain the checkpoint")
    config = _check_predictor_config(folder, cfg.get("config", {}))
    own = {k: v for k, v in tensors.items() if not k.startswith("novelty/")}
    predictor = Predictor(cfg["kind"], models, dict(config), own, list(cfg.get("tasks", [])))
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


def trained_tasks(cfg: Mapping[str, Any]) -> frozenset[str]:
    """The task families a checkpoint config saw in training: the predictor's, its stack members' and the novelty
    detector's (empty when none are recorded). Reads the config only, so it is cheap enough for Router startup."""
    found: set[str] = set()

    def add(values: Any) -> None:
        if isinstance(values, list):
            found.update(v for v in values if isinstance(v, str))

    add(cfg.get("tasks"))
    predictor = cfg.get("config") if isinstance(cfg.get("config"), Mapping) else {}
    add(predictor.get("known_tasks"))
    for member in predictor.get("members", []) if isinstance(predictor.get("members"), list) else []:
        if isinstance(member, Mapping):
            add(member.get("tasks"))
    novelty = cfg.get("novelty")
    if isinstance(novelty, Mapping):
        add(novelty.get("families"))
        add(novelty.get("known_tasks"))
    return frozenset(found)
