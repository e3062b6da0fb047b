"""Configuration outcomes (DyLAN team sizes, RouteMoA systems) as outcome tables with one column per configuration, on
small synthetic folders in the shared layouts and on the shared data itself; stratified folds for data without a split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shared_data import shared

from router_plugins.errors import DataError
from router_plugins.replay import NO_SPLIT, load_outcomes, registered_formats, stratified_folds
from router_plugins.replay._metrics import baselines


def write_dylan(folder: Path, *, aggregates: bool = True) -> Path:
    """Two subjects × 3 questions × teams of 2 and 4; the 4-agent calls of subject 'b' are missing (misaligned JSON)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for subject in ("a", "b"):
        for q in range(3):
            rows.append({"subject": subject, "q_pos": q, "n_agents": 2, "correct": q != 1, "n_llm_responses": 2.0})
            calls = None if subject == "b" else 4.0 + q
            rows.append({"subject": subject, "q_pos": q, "n_agents": 4, "correct": True, "n_llm_responses": calls})
    pd.DataFrame(rows).to_csv(folder / "teams.csv.gz", index=False)
    if aggregates:
        pd.DataFrame([{"subject": "b", "chunk_start": 0, "n_agents": 4, "n_questions": 3, "acc": 1.0,
                       "resp_cnt_total_txt": 15}]).to_csv(folder / "dylan_mmlu_file_aggregates.csv", index=False)
    return folder


def write_routemoa(path: Path) -> Path:
    """Two datasets; item x2 of 'gen' has no item-level correctness (a ROUGE dataset) and is dropped."""
    rows = []
    for system, cost in (("routemoa", 0.001), ("moa", 0.03), ("smoa", 0.005)):
        for dataset, item, correct in (("math", "1", 1.0), ("math", "2", 0.0), ("qa", "1", 1.0), ("gen", "x2", None)):
            rows.append({"system": system, "category": "c", "dataset": dataset, "item_id": item,
                         "is_correct": correct if system != "smoa" or item != "2" else 1.0, "cost": cost,
                         "prompt_tokens_total": 100, "completion_tokens_total": 20, "n_models_called": 3,
                         "question": f"{dataset} question {item}", "model_response": f"{system} says {item}"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_every_format_module_is_registered() -> None:
    names = {f.name for f in registered_formats()}
    assert names == {"wide", "routerdc_7llm", "routellm_gpt4_mixtral", "llmrouter_nim9", "routerarena_sub10",
                     "dylan_multiagent_mmlu", "routemoa_multiagent"}


def test_synthetic_dylan_folder_has_one_column_per_team_size(tmp_path: Path) -> None:
    table = load_outcomes(write_dylan(tmp_path / "dylan"))
    assert table.models == ("n_agents=2", "n_agents=4")
    assert len(table) == 6 and table.cost_unit == "LLM calls" and not table.has_split
    assert set(table.splits.tolist()) == {NO_SPLIT}
    assert table.tasks.tolist()[:3] == ["mmlu/a"] * 3 and table.texts[0] == "MMLU a"
    np.testing.assert_array_equal(table.quality[:, 0], [1, 0, 1, 1, 0, 1])
    np.testing.assert_array_equal(table.cost[:3, 1], [4, 5, 6])  # recorded per question
    np.testing.assert_array_equal(table.cost[3:, 1], [5, 5, 5])  # the file's 15 calls / 3 questions


def test_dylan_without_aggregates_falls_back_to_the_configuration_mean(tmp_path: Path) -> None:
    table = load_outcomes(write_dylan(tmp_path / "dylan", aggregates=False))
    np.testing.assert_array_equal(table.cost[3:, 1], [5, 5, 5])  # mean of 4, 5, 6
    assert "configuration's mean (3 cells)" in table.meta["cost_note"]


def test_hostile_dylan_rows_are_data_errors(tmp_path: Path) -> None:
    folder = write_dylan(tmp_path / "dup")
    df = pd.read_csv(folder / "teams.csv.gz")
    pd.concat([df, df.head(1)]).to_csv(folder / "teams.csv.gz", index=False)
    with pytest.raises(DataError, match="duplicate"):
        load_outcomes(folder)
    bad = tmp_path / "bad.csv"
    df.assign(n_agents=["two"] + df["n_agents"].tolist()[1:]).to_csv(bad, index=False)
    with pytest.raises(DataError, match="n_agents"):
        load_outcomes(bad)


def test_synthetic_routemoa_file_has_one_column_per_system(tmp_path: Path) -> None:
    table = load_outcomes(write_routemoa(tmp_path / "items.csv"))
    assert table.models == ("moa", "smoa", "routemoa")  # the source's order, whatever the row order
    assert len(table) == 3 and table.meta["dropped_unscored_items"] == 1
    assert table.tasks.tolist() == ["math", "math", "qa"] and table.cost_unit == "USD"
    np.testing.assert_array_equal(table.quality[:, 1], [1, 1, 1])
    np.testing.assert_array_equal(table.quality[:, 2], [1, 0, 1])
    np.testing.assert_allclose(table.cost[0], [0.03, 0.005, 0.001])
    assert table.input_tokens is not None and int(table.input_tokens[0, 0]) == 100
    assert table.responses[1, 2] == "routemoa says 2"
    assert baselines(table)["best_single"]["name"] == "smoa"


def test_routemoa_with_no_scored_item_is_a_data_error(tmp_path: Path) -> None:
    path = write_routemoa(tmp_path / "items.csv")
    pd.read_csv(path).assign(is_correct=np.nan).to_csv(path, index=False)
    with pytest.raises(DataError, match="is_correct"):
        load_outcomes(path)


def test_stratified_folds_spread_every_stratum_and_balance_sizes() -> None:
    strata = np.array(["a"] * 13 + ["b"] * 7 + ["c"] * 3)
    folds = stratified_folds(strata, 5, seed=3)
    assert np.array_equal(folds, stratified_folds(strata, 5, seed=3))
    sizes = np.bincount(folds, minlength=5)
    assert sizes.max() - sizes.min() <= 1
    for s in "ab":
        counts = np.bincount(folds[strata == s], minlength=5)
        assert counts.max() - counts.min() <= 1
    with pytest.raises(DataError, match="at least 5 rows"):
        stratified_folds(["a", "b"], 5)


# --- the shared data against its DATASHEETs ----------------------------------------------------------------------


def test_shared_dylan_matches_its_datasheet() -> None:
    table = load_outcomes(shared("dylan_multiagent_mmlu"))
    assert len(table) == 2809 and table.models == ("n_agents=2", "n_agents=3", "n_agents=4", "n_agents=7")
    assert len(set(table.tasks.tolist())) == 57
    acc = np.nanmean(table.quality, axis=0)
    np.testing.assert_allclose(acc, [0.684, 0.699, 0.705, 0.695], atol=6e-4)
    base = baselines(table)
    assert base["best_single"]["name"] == "n_agents=4" and abs(base["oracle"]["quality"] - 0.809) < 6e-4
    calls = np.nanmean(table.cost, axis=0)  # DATASHEET api_responses_per_q (DyLAN's .txt totals)
    np.testing.assert_allclose(calls, [2.831, 4.9, 4.388, 8.3], rtol=0.02)
    assert np.isfinite(table.cost).all()


def test_shared_routemoa_matches_its_datasheet() -> None:
    table = load_outcomes(shared("routemoa_multiagent"))
    assert len(table) == 345 and table.models == ("moa", "smoa", "routemoa")
    assert len(set(table.tasks.tolist())) == 23 and table.meta["dropped_unscored_items"] == 105
    np.testing.assert_allclose(np.nanmean(table.quality, axis=0), [0.7913, 0.7594, 0.8377], atol=1e-4)
    assert abs(baselines(table)["oracle"]["quality"] - 0.887) < 1e-3
