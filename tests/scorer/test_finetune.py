"""Optional encoder fine-tuning: the encoder's weights move, the tuned folder is a normal encoder, and a checkpoint
trained on it through the CLI loads from its own folder (relative encoder path) and routes better than random."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import numpy as np
from click.testing import CliRunner

from router_plugins.replay import baselines, evaluate_choices
from router_plugins.scorer.finetune import FinetuneConfig, finetune_encoder
from router_plugins.scorer.pipeline import predictions
from router_plugins.scorer.report import route
from router_plugins.scorer.trained_scorer import TrainedScorer

from .conftest import make_table, write_wide_csv


def test_finetune_moves_the_encoder_and_saves_a_loadable_folder(tmp_path: Path, tiny_encoder_dir: Path) -> None:
    from safetensors.numpy import load_file

    info = finetune_encoder(make_table(n_per_topic=30).split("train"), tmp_path / "enc", base=tiny_encoder_dir,
                            config=FinetuneConfig(epochs=2, batch_size=16, encoder_lr=1e-3, max_length=32,
                                                  progress=False))
    assert len(info["val_bce_by_epoch"]) == 3 and 0 <= info["best_epoch"] <= 2
    before, after = load_file(str(tiny_encoder_dir / "model.safetensors")), load_file(str(tmp_path / "enc" / "model.safetensors"))
    moved = [k for k in before if k in after and not np.allclose(before[k], after[k])]
    assert moved or info["best_epoch"] == 0  # weights changed unless the untouched encoder validated best
    assert json.loads((tmp_path / "enc" / "router_plugins_finetune.json").read_text())["n_train"] > 0


def test_cli_train_with_finetuned_encoder(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path) -> None:
    table = make_table(n_per_topic=40, seed=3)
    csv = write_wide_csv(table, tmp_path / "data.csv")
    ckpt = tmp_path / "ckpt"
    res = CliRunner().invoke(cli, ["train", "--data", str(csv), "--out", str(ckpt), "--scorer", "dc",
                                   "--encoder", str(tiny_encoder_dir), "--finetune-encoder", "1"])
    assert res.exit_code == 0, res.output
    assert (ckpt / "encoder" / "model.safetensors").is_file() and "fine-tuned the encoder" in res.output
    moved = shutil.move(str(ckpt), str(tmp_path / "moved"))  # the checkpoint names its encoder relative to itself
    scorer = TrainedScorer.load(moved)
    test = table.split("test")
    q, _ = evaluate_choices(test, route(predictions(scorer, test), None, 0.0))
    assert q > baselines(test)["random"]["quality"] + 0.1


def test_cli_refuses_to_finetune_the_static_encoder(tmp_path: Path, cli: click.Group) -> None:
    csv = write_wide_csv(make_table(n_per_topic=10), tmp_path / "data.csv")
    res = CliRunner().invoke(cli, ["train", "--data", str(csv), "--out", str(tmp_path / "c"), "--encoder", "fast",
                                   "--finetune-encoder", "1"])
    assert res.exit_code == 2 and "fast" in res.output
