"""CLI: train writes a checkpoint; eval writes report.json (the documented schema) and cost_quality.png, with or
without a checkpoint, including an all-test CSV evaluated with a checkpoint trained elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from .conftest import make_table, write_wide_csv


def _check_schema(report: dict) -> None:
    for key in ("dataset", "split", "n", "models", "best_single", "oracle", "routers", "cost_to_match_best", "per_task"):
        assert key in report
    assert set(report["best_single"]) >= {"name", "quality", "cost"}
    assert set(report["oracle"]) >= {"quality", "cost"}
    for m in report["models"].values():
        assert set(m) >= {"quality", "cost"}
    for r in report["routers"].values():
        assert "aiq" in r and r["points"]
        assert set(r["points"][0]) >= {"lambda", "quality", "cost"}
    for task in report["per_task"].values():
        assert all(isinstance(v, float) for v in task.values())


def test_eval_trains_every_router_and_writes_report(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path) -> None:
    data = write_wide_csv(make_table(n_per_topic=30), tmp_path / "outcomes.csv")
    out = tmp_path / "report"
    res = CliRunner().invoke(cli, ["eval", "--data", str(data), "--out", str(out), "--encoder", str(tiny_encoder_dir)])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.json").read_text())
    _check_schema(report)
    assert {"dc", "knn", "mlp", "mf", "random", "most_expensive", "oracle"} <= set(report["routers"])
    for name in ("dc", "knn", "mlp", "mf"):
        gap = report["routers"][name]["lambda0_vs_best_single"]
        assert gap["ci95"][0] <= gap["diff"] <= gap["ci95"][1]
    assert (out / "cost_quality.png").stat().st_size > 1000
    assert "dc" in res.output


def test_train_then_eval_all_test_csv(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path) -> None:
    runner = CliRunner()
    train_csv = write_wide_csv(make_table(n_per_topic=30, seed=1), tmp_path / "train.csv")
    ckpt = tmp_path / "ckpt"
    res = runner.invoke(cli, ["train", "--data", str(train_csv), "--out", str(ckpt), "--scorer", "knn",
                              "--encoder", str(tiny_encoder_dir)])
    assert res.exit_code == 0, res.output
    test_csv = write_wide_csv(make_table(n_per_topic=10, seed=2), tmp_path / "test.csv", split="test")
    res = runner.invoke(cli, ["eval", "--data", str(test_csv), "--checkpoint", str(ckpt), "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    _check_schema(report)
    assert report["n"] == 30 and "knn" in report["routers"]


def test_eval_rejects_tampered_checkpoint(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path) -> None:
    runner = CliRunner()
    data = write_wide_csv(make_table(n_per_topic=20), tmp_path / "d.csv")
    ckpt = tmp_path / "ckpt"
    assert runner.invoke(cli, ["train", "--data", str(data), "--out", str(ckpt), "--scorer", "mf", "--epochs", "2",
                               "--encoder", str(tiny_encoder_dir)]).exit_code == 0
    w = ckpt / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:-10])
    res = runner.invoke(cli, ["eval", "--data", str(data), "--checkpoint", str(ckpt), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and res.output.startswith("error: ") and "weights.safetensors" in res.output


def test_train_judge_on_the_embedded_gsm8k_answers(tmp_path: Path, cli: click.Group) -> None:
    from importlib.resources import files

    from router_plugins.scorer.response_judge import ResponseJudge

    data = Path(str(files("router_plugins") / "data" / "routellm_gsm8k" / "gsm8k_gpt4_mixtral.csv.gz"))
    model = "mistralai/Mixtral-8x7B-Instruct-v0.1"
    res = CliRunner().invoke(cli, ["train-judge", "--data", str(data), "--model", model, "--out", str(tmp_path / "j")])
    assert res.exit_code == 0, res.output
    auc_oof, auc_test = (float(part.split("AUC ")[1].split()[0].rstrip(",")) for part in res.output.split(", ")[1:3])
    assert auc_oof > 0.65 and auc_test > 0.65  # the judge beats chance on held-out answers
    assert ResponseJudge.load(tmp_path / "j").models == (model,)


def test_train_judge_needs_recorded_responses(tmp_path: Path, cli: click.Group) -> None:
    data = write_wide_csv(make_table(), tmp_path / "no_responses.csv")
    res = CliRunner().invoke(cli, ["train-judge", "--data", str(data), "--model", "a", "--out", str(tmp_path / "j")])
    assert res.exit_code == 2 and "records no responses" in res.output
