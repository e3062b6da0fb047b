"""Checkpoints round-trip exactly and refuse tampered, truncated or mismatched files with CheckpointError."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from router_plugins.errors import CheckpointError
from router_plugins.query import Query
from router_plugins.scorer.checkpoint import load_checkpoint
from router_plugins.scorer.pipeline import train_scorer
from router_plugins.scorer.trained_scorer import TrainedScorer
from router_plugins.scorer.training import TrainConfig

from .conftest import make_table


@pytest.fixture
def saved(tmp_path: Path, tiny_encoder: object) -> tuple[Path, TrainedScorer]:
    train = make_table(n_per_topic=30).split("train")
    scorer, _ = train_scorer(train, kind="dc", encoder=tiny_encoder, encoder_spec=None,
                             config=TrainConfig(epochs=5, progress=False), progress=False)
    return scorer.save(tmp_path / "ckpt"), scorer


@pytest.mark.parametrize("kind", ["dc", "knn", "mlp", "mf", "prior", "stack"])
def test_round_trip(kind: str, tmp_path: Path, tiny_encoder: object) -> None:
    train = make_table(n_per_topic=30).split("train")
    scorer, _ = train_scorer(train, kind=kind, encoder=tiny_encoder, encoder_spec=None,
                             config=TrainConfig(epochs=3, progress=False), progress=False)
    path = scorer.save(tmp_path / kind)
    assert not list(path.glob("*.pkl")) and (path / "weights.safetensors").is_file()
    loaded = TrainedScorer.load(path, encoder=tiny_encoder)
    texts = ["add the numbers please", "write a poem about the moon"]
    np.testing.assert_allclose(loaded.predict(texts), scorer.predict(texts), rtol=1e-5, atol=1e-6)
    tasked = [Query(text=t, task=k) for t, k in zip(texts, ("math", "poem"))]
    np.testing.assert_allclose(loaded.predict_known(tasked), scorer.predict_known(tasked), rtol=1e-5, atol=1e-6)
    assert loaded.cost_per_query == pytest.approx(scorer.cost_per_query)


def test_tampered_weights_rejected(saved: tuple[Path, TrainedScorer]) -> None:
    path, _ = saved
    w = path / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-5] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(path)


def test_truncated_weights_rejected(saved: tuple[Path, TrainedScorer]) -> None:
    path, _ = saved
    w = path / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:100])
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_truncated_or_missing_config_rejected(saved: tuple[Path, TrainedScorer]) -> None:
    path, _ = saved
    cfg = path / "config.json"
    cfg.write_text(cfg.read_text()[:50])
    with pytest.raises(CheckpointError, match="JSON"):
        load_checkpoint(path)
    cfg.unlink()
    with pytest.raises(CheckpointError, match="config.json"):
        load_checkpoint(path)


def test_shape_mismatch_rejected(saved: tuple[Path, TrainedScorer]) -> None:
    path, _ = saved
    cfg = json.loads((path / "config.json").read_text())
    cfg["models"].append("extra-model")  # config says 4 models, weights hold 3
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(path)


def test_model_names_and_encoder_checked(saved: tuple[Path, TrainedScorer]) -> None:
    path, scorer = saved
    with pytest.raises(CheckpointError, match="unknown"):
        load_checkpoint(path, expected_models=["cheap-math", "gpt-x"])
    with pytest.raises(CheckpointError, match="encoder"):
        load_checkpoint(path, encoder_id="some-other-encoder")
    predictor, _ = load_checkpoint(path, expected_models=list(scorer.models), encoder_id=scorer.encoder.id)
    assert predictor.models == scorer.models


def test_stack_member_tensor_missing_rejected(tmp_path: Path, tiny_encoder: object) -> None:
    from safetensors.numpy import load_file, save_file

    train = make_table(n_per_topic=30).split("train")
    scorer, _ = train_scorer(train, kind="stack", encoder=tiny_encoder, encoder_spec=None,
                             config=TrainConfig(epochs=3, progress=False, stack_members=("prior", "knn")), progress=False)
    path = scorer.save(tmp_path / "stack")
    weights = load_file(str(path / "weights.safetensors"))
    member = next(k for k in weights if "/" in k)
    del weights[member]
    save_file(weights, str(path / "weights.safetensors"))
    cfg = json.loads((path / "config.json").read_text())
    from router_plugins.scorer.checkpoint import file_sha256

    cfg["weights_sha256"] = file_sha256(path / "weights.safetensors")  # a consistent but incomplete checkpoint
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="does not match the config"):
        load_checkpoint(path)


@pytest.mark.parametrize("breakage", ["weights", "member"])
def test_malformed_stack_config_rejected(breakage: str) -> None:
    from router_plugins.scorer.predictors import Predictor

    prior = Predictor("prior", ["m1", "m2"], {"prior_tasks": []}, {"task_prior": np.full((1, 2), 0.5, np.float32)})
    config = Predictor.stack([("prior", 1.0, prior)]).config
    if breakage == "weights":
        config["weights"] = [0.5, 0.5]
    else:
        del config["members"][0]["kind"]
    with pytest.raises(CheckpointError, match="stack"):
        Predictor("stack", ["m1", "m2"], config, {"prior/task_prior": np.full((1, 2), 0.5, np.float32)})
