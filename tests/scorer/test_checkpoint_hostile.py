"""Hostile checkpoints: an encoder outside the folder, pickled weights, remote code, bad counts, NaN weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from router_plugins.errors import CheckpointError

pytest.importorskip("safetensors")


def _copy_default(tmp_path: Path) -> Path:
    import shutil

    from router_plugins.scorer.trained_scorer import DEFAULT_CHECKPOINT

    out = tmp_path / "ckpt"
    shutil.copytree(DEFAULT_CHECKPOINT, out)
    return out


def _edit_config(folder: Path, **changes: object) -> None:
    cfg = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if key == "spec":
            cfg["encoder"]["spec"] = value
        else:
            cfg["config"][key] = value
    (folder / "config.json").write_text(json.dumps(cfg))


@pytest.mark.parametrize("spec", ["../../x", "/etc", "encoder/../../elsewhere"])
def test_an_encoder_outside_the_checkpoint_is_refused(tmp_path: Path, spec: str) -> None:
    from router_plugins.scorer.trained_scorer import TrainedScorer

    folder = _copy_default(tmp_path)
    _edit_config(folder, spec=spec)
    with pytest.raises(CheckpointError, match="(outside|not a folder inside)"):
        TrainedScorer.load(folder)


@pytest.mark.parametrize(("name", "content"), [("pytorch_model.bin", b"\x80\x04pickle"), ("modeling_evil.py", b"import os")])
def test_pickled_weights_or_code_in_the_encoder_folder_are_refused(tmp_path: Path, name: str, content: bytes) -> None:
    from router_plugins.scorer.trained_scorer import TrainedScorer

    folder = _copy_default(tmp_path)
    (folder / "encoder" / name).write_bytes(content)
    with pytest.raises(CheckpointError, match="pickled weights or Python code"):
        TrainedScorer.load(folder)


def test_remote_code_in_the_encoder_config_is_refused(tmp_path: Path) -> None:
    from router_plugins.scorer.trained_scorer import TrainedScorer

    folder = _copy_default(tmp_path)
    (folder / "encoder" / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "evil.Model"}}))
    with pytest.raises(CheckpointError, match="remote code"):
        TrainedScorer.load(folder)


@pytest.mark.parametrize("k", [-5, "20", 2.5, True])
def test_bad_counts_are_refused(tmp_path: Path, k: object) -> None:
    from router_plugins.scorer.checkpoint import _check_predictor_config

    with pytest.raises(CheckpointError, match="'k' must be an integer"):
        _check_predictor_config(tmp_path, {"k": k})
    with pytest.raises(CheckpointError, match="not finite"):
        _check_predictor_config(tmp_path, {"weights": [0.5, float("nan")]})


def test_nan_weights_are_refused(tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    from router_plugins.scorer.checkpoint import file_sha256, load_checkpoint

    folder = _copy_default(tmp_path)
    weights = folder / "weights.safetensors"
    tensors = load_file(str(weights))
    name = next(k for k in sorted(tensors) if not k.endswith("train_quality"))
    tensors[name] = np.full_like(tensors[name], np.nan)
    save_file(tensors, str(weights))
    cfg = json.loads((folder / "config.json").read_text())
    cfg["weights_sha256"] = file_sha256(weights)  # an attacker can recompute the checksum: the values are checked too
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        load_checkpoint(folder)
