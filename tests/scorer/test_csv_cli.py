"""train / eval on users' CSVs: one-line errors (exit 2) naming the column or row, a CSV without task or split
columns trains and evaluates, the README example evaluates, small splits are warned about, and data without a split
(multi-agent configuration outcomes) is cross-validated with out-of-fold points over every item."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shared_data import shared

from .conftest import make_table, write_wide_csv

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "outcomes.csv"
FAST = ["--scorers", "prior,knn"]


def _csv(tmp_path: Path, **columns: list[object]) -> Path:
    data: dict[str, list[object]] = {"prompt": ["add two numbers", "write a poem", "fix the python bug"],
                                     "split": ["train", "train", "test"], "a": [1, 0, 1],
                                     "a|total_cost": [0.1, 0.1, 0.1], "b": [1, 1, 0], "b|total_cost": [1, 1, 1]}
    path = tmp_path / "data.csv"
    pd.DataFrame({**data, **columns}).to_csv(path, index=False)
    return path


def _one_line_error(res: click.testing.Result, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(("columns", "needles"), [
    ({"c": [1, 0, 1]}, ("'c'", "c|total_cost")),  # a model without its cost column
    ({"c": [None, None, None], "c|total_cost": [1, 1, 1]}, ("['c']", "no score")),  # a model without scores
    ({"b|total_cost": [1, float("inf"), 1]}, ("'b|total_cost'", "row 1")),  # an infinite cost
    ({"b|total_cost": [1, None, 1]}, ("'b|total_cost'", "row 1")),  # a missing cost of a recorded score
])
@pytest.mark.parametrize("command", ["train", "eval"])
def test_bad_csv_is_a_one_line_error(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path, command: str,
                                     columns: dict[str, list[object]], needles: tuple[str, ...]) -> None:
    out = ["--out", str(tmp_path / "o"), "--encoder", str(tiny_encoder_dir)]
    res = CliRunner().invoke(cli, [command, "--data", str(_csv(tmp_path, **columns)), *out])
    _one_line_error(res, *needles)


def test_train_dc_on_one_train_row_is_a_one_line_error(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path) -> None:
    data = _csv(tmp_path, split=["train", "test", "test"])
    res = CliRunner().invoke(cli, ["train", "--data", str(data), "--out", str(tmp_path / "c"), "--scorer", "dc",
                                   "--encoder", str(tiny_encoder_dir)])
    _one_line_error(res, "train split has 1 row", "split=train")


def test_csv_without_task_or_split_trains_and_evaluates(tmp_path: Path, cli: click.Group,
                                                         tiny_encoder_dir: Path) -> None:
    table = make_table(n_per_topic=10)
    path = write_wide_csv(table, tmp_path / "new_family.csv")
    pd.read_csv(path).drop(columns=["eval_name", "split"]).to_csv(path, index=False)
    enc = ["--encoder", str(tiny_encoder_dir)]
    res = CliRunner().invoke(cli, ["train", "--data", str(path), "--out", str(tmp_path / "c"), "--scorer", "knn", *enc])
    assert res.exit_code == 0, res.output
    assert "30 queries" in res.output and "fewer" not in res.output and "(< 100)" in res.stderr
    res = CliRunner().invoke(cli, ["eval", "--data", str(path), "--out", str(tmp_path / "r"), *FAST, *enc])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["split"] == "cv5" and report["n"] == 30 and list(report["per_task"]) == ["unknown"]
    res = CliRunner().invoke(cli, ["eval", "--data", str(path), "--checkpoint", str(tmp_path / "c"),
                                   "--out", str(tmp_path / "r2")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "r2" / "report.json").read_text())["split"] == "all"


def test_the_readme_example_evaluates(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path) -> None:
    res = CliRunner().invoke(cli, ["eval", "--data", str(EXAMPLE), "--out", str(tmp_path / "r"), *FAST,
                                   "--encoder", str(tiny_encoder_dir)])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["split"] == "test" and report["n"] == 2 and report["cost_unit"] == "USD"
    assert report["best_single"]["name"] == "big-model" and {"prior", "knn"} <= set(report["routers"])
    assert "warning: split 'test' has 2 rows (< 100)" in res.stderr
    assert "warning: the train split has 2 rows (< 100)" in res.stderr


def test_large_splits_are_not_warned_about(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path) -> None:
    data = write_wide_csv(make_table(n_per_topic=120), tmp_path / "big.csv")
    res = CliRunner().invoke(cli, ["eval", "--data", str(data), "--out", str(tmp_path / "r"), "--scorers", "prior",
                                   "--encoder", str(tiny_encoder_dir)])
    assert res.exit_code == 0, res.output
    assert "warning" not in res.stderr


def _write_dylan(folder: Path, n_subjects: int = 3, n_questions: int = 10) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir()
    rows = [{"subject": f"s{s}", "q_pos": q, "n_agents": team, "correct": bool(rng.random() < 0.4 + 0.1 * s),
             "n_llm_responses": float(team + rng.integers(0, 2))}
            for s in range(n_subjects) for q in range(n_questions) for team in (2, 3, 4, 7)]
    pd.DataFrame(rows).to_csv(folder / "teams.csv", index=False)
    return folder


def test_configuration_outcomes_are_cross_validated(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path) -> None:
    folder = _write_dylan(tmp_path / "dylan")
    res = CliRunner().invoke(cli, ["eval", "--data", str(folder), "--out", str(tmp_path / "r"), *FAST,
                                   "--encoder", str(tiny_encoder_dir)])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["split"] == "cv5" and report["n"] == 30 and report["cost_unit"] == "LLM calls"
    assert set(report["models"]) == {"n_agents=2", "n_agents=3", "n_agents=4", "n_agents=7"}
    assert report["cv"]["folds"] == 5 and report["cv"]["stratified_by"] == "subject"
    assert sorted(report["cv"]["fold_sizes"]) == [6] * 5
    assert "cost in LLM calls" in res.output and (tmp_path / "r" / "cost_quality.png").stat().st_size > 1000
    for name in ("prior", "knn"):
        assert report["routers"][name]["points"][0]["quality"] <= report["oracle"]["quality"] + 1e-9
    # fitted configuration priors, out of fold, and the learned selector replayed beside the routers
    assert set(report["calibration"]) == set(report["models"])
    for name, row in report["calibration"].items():
        assert row["recorded_quality"] == pytest.approx(report["models"][name]["quality"])
        assert row["recorded_cost"] == pytest.approx(report["models"][name]["cost"])
        assert 0.0 <= row["predicted_quality"] <= 1.0 and row["predicted_cost"] > 0
    assert report["configuration_selector"]["lambda0"]["quality"] <= report["oracle"]["quality"] + 1e-9
    assert "learned configuration selector" in res.output


@pytest.mark.parametrize(("folder", "n", "unit"), [("dylan_multiagent_mmlu", 2809, "LLM calls"),
                                                   ("routemoa_multiagent", 345, "USD")])
def test_shared_configuration_outcomes_are_cross_validated(tmp_path: Path, cli: click.Group,
                                                           folder: str, n: int, unit: str) -> None:
    res = CliRunner().invoke(cli, ["eval", "--data", str(shared(folder)), "--out", str(tmp_path / "r"),
                                   "--scorers", "prior", "--encoder", "fast"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert (report["split"], report["n"], report["cost_unit"]) == ("cv5", n, unit)
    assert report["routers"]["prior"]["points"][0]["quality"] <= report["oracle"]["quality"]


def test_train_prior_embeds_no_text_unless_novelty_is_asked(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # the per-task prior never reads the text: by default nothing is embedded (issue 16 item 5)
    import router_plugins.scorer.pipeline as pipeline

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("embedded the texts")

    monkeypatch.setattr(pipeline, "embed_table", refuse)
    path = EXAMPLE
    for i, flags in enumerate(([], ["--no-novelty"])):
        res = CliRunner().invoke(cli, ["train", "--data", str(path), "--out", str(tmp_path / f"c{i}"), "--scorer",
                                       "prior", "--encoder", str(tiny_encoder_dir), *flags])
        assert res.exit_code == 0, res.output
        assert "novelty" not in json.loads((tmp_path / f"c{i}" / "config.json").read_text())
    res = CliRunner().invoke(cli, ["train", "--data", str(path), "--out", str(tmp_path / "d"), "--scorer", "prior",
                                   "--novelty", "--encoder", str(tiny_encoder_dir)])
    assert res.exit_code != 0  # asked for the novelty detector, the texts are embedded
