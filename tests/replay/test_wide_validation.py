"""The wide CSV refuses half-described models instead of silently dropping or masking them (issue 12 item 7), names
rows without a task "unknown" (issue 14), and points its errors to the README rather than to files users lack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from router_plugins.errors import DataError
from router_plugins.replay import load_outcomes

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "outcomes.csv"


def write(tmp_path: Path, **columns: list[object]) -> Path:
    base: dict[str, list[object]] = {"prompt": ["q1", "q2", "q3"], "split": ["train", "train", "test"],
                                     "a": [1, 0, 1], "a|total_cost": [0.1, 0.1, 0.1]}
    path = tmp_path / "data.csv"
    pd.DataFrame({**base, **columns}).to_csv(path, index=False)
    return path


def test_a_model_without_its_cost_column_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"column 'b' holds scores .* no 'b\|total_cost' column"):
        load_outcomes(write(tmp_path, b=[1, 1, 0]))


def test_a_cost_column_without_its_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"'b\|total_cost' has no score column 'b'"):
        load_outcomes(write(tmp_path, **{"b|total_cost": [0.1, 0.2, 0.3]}))


def test_bookkeeping_columns_are_not_taken_for_models(tmp_path: Path) -> None:
    table = load_outcomes(write(tmp_path, row_idx=[0, 1, 1], cluster_id=[0, 1, 0], note=["x", "y", "z"]))
    assert table.models == ("a",)


def test_a_model_with_no_scores_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"\['b'\] have no score in any row"):
        load_outcomes(write(tmp_path, b=[None, None, None], **{"b|total_cost": [0.1, 0.1, 0.1]}))


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_a_non_finite_cost_of_a_recorded_score_names_column_and_row(tmp_path: Path, bad: float) -> None:
    path = write(tmp_path, b=[1, 1, 0], **{"b|total_cost": [0.1, bad, 0.1]})
    with pytest.raises(DataError, match=r"'b\|total_cost' has a non-finite cost \((inf|nan)\) in row 1 \(line 3\)"):
        load_outcomes(path)


def test_a_missing_cost_of_a_missing_score_is_fine(tmp_path: Path) -> None:
    table = load_outcomes(write(tmp_path, b=[1, None, 0], **{"b|total_cost": [0.1, None, 0.1]}))
    assert np.isnan(table.quality[1, 1]) and np.isnan(table.cost[1, 1])


def test_no_task_column_means_task_unknown(tmp_path: Path) -> None:
    assert load_outcomes(write(tmp_path)).tasks.tolist() == ["unknown"] * 3


def test_errors_point_to_the_readme_not_to_files_users_lack(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    pd.DataFrame({"foo": [1]}).to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load_outcomes(path)
    assert "README section 'Outcome data formats'" in str(err.value) and "DATASHEET" not in str(err.value)


def test_the_readme_example_loads() -> None:
    table = load_outcomes(EXAMPLE)
    assert len(EXAMPLE.read_text().strip().splitlines()) == 5
    assert table.models == ("small-model", "big-model") and len(table) == 4
    assert table.splits.tolist() == ["train", "train", "test", "test"] and not table.cost_estimated
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    assert EXAMPLE.read_text().strip() in readme  # the README shows the file as it is
