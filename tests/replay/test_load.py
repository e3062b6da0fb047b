"""load_outcomes: the wide-CSV format on synthetic files, every shared/data folder against its DATASHEET, and errors."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shared_data import shared

from router_plugins._tokens import estimate_tokens
from router_plugins.errors import DataError
from router_plugins.replay import (
    LLMROUTER_OUTPUT_TOKENS,
    NO_SPLIT,
    ROUTELLM_MMLU_FEWSHOT_TOKENS,
    ROUTELLM_PRICES,
    OutcomeTable,
    load_outcomes,
    train_fraction_split,
)


def mean_pct(table: OutcomeTable, model: str) -> float:
    """NaN-masked mean quality of one model, in percent."""
    col = table.quality[:, table.model_index(model)]
    return float(np.nanmean(col) * 100)


# --- synthetic wide CSVs ------------------------------------------------------------------------------------------


def write_wide(path: Path) -> Path:
    df = pd.DataFrame(
        {
            "split": ["train", "train", "test", "test"],
            "prompt": ["['What is 1+1?']", "['Part one', 'part two']", "plain text query", "['Q4']"],
            "eval_name": ["math", "math", "qa", "qa"],
            "m/a": [1.0, 0.0, 1.0, 0.0],
            "m/b": [1.0, np.nan, 0.0, 1.0],
            "m/a|model_response": ["['2']", "['x']", "['yes']", "['no']"],
            "m/b|model_response": ["['two']", np.nan, "['maybe']", "['a longer answer here']"],
            "m/a|total_cost": [0.001, 0.001, 0.002, 0.002],
            "m/b|total_cost": [0.01, 0.01, 0.02, 0.02],
            "cluster_id": [3, 1, np.nan, np.nan],
        }
    )
    df.to_csv(path, index=False)
    return path


def test_wide_csv_columns_are_found_and_parsed(tmp_path: Path) -> None:
    table = load_outcomes(write_wide(tmp_path / "mine.csv"))
    assert table.name == "mine"
    assert table.models == ("m/a", "m/b")
    assert table.texts[0] == "What is 1+1?"
    assert table.texts[1] == "Part one\npart two"  # list literal joined by newlines
    assert table.texts[2] == "plain text query"
    assert table.tasks.tolist() == ["math", "math", "qa", "qa"]
    assert table.splits.tolist() == ["train", "train", "test", "test"]
    assert table.clusters is not None and table.clusters.tolist() == [3, 1, -1, -1]
    assert table.cost is not None and table.cost[2, 1] == pytest.approx(0.02)
    assert not table.cost_estimated
    assert table.responses is not None
    assert table.responses[0, 1] == "two" and table.responses[1, 1] is None
    assert table.input_tokens is not None and table.output_tokens is not None
    assert table.input_tokens[0, 0] == estimate_tokens("What is 1+1?")
    assert table.output_tokens[3, 1] == estimate_tokens("a longer answer here")


def test_wide_csv_keeps_missing_outcomes_as_nan(tmp_path: Path) -> None:
    table = load_outcomes(write_wide(tmp_path / "mine.csv"))
    assert np.isnan(table.quality[1, 1])
    assert np.isnan(table.quality).sum() == 1  # nothing else became NaN, and the NaN did not become 0


def test_wide_csv_gz_and_defaults_for_missing_task_and_split(tmp_path: Path) -> None:
    df = pd.DataFrame({"question": ["a", "b"], "x": [1, 0], "x|total_cost": [0.1, 0.2]})
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as fh:
        df.to_csv(fh, index=False)
    table = load_outcomes(path)
    assert table.name == "t"
    assert table.tasks.tolist() == ["unknown", "unknown"]  # a family nobody trained on (issue 14)
    assert table.splits.tolist() == [NO_SPLIT, NO_SPLIT] and not table.has_split
    assert table.clusters is None and table.responses is None


def test_wide_csv_without_cost_columns_needs_models_and_estimates_cost_from_prices(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    pd.DataFrame({"query": ["x" * 400, "y" * 40], "big": [True, True], "small": [False, True]}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match="not a recognised"):
        load_outcomes(path)
    table = load_outcomes(path, models=["big", "small"])
    assert table.cost is None and not table.cost_estimated
    assert table.quality.tolist() == [[1.0, 0.0], [1.0, 1.0]]
    priced = load_outcomes(path, models=["big", "small"], prices={"big": (10.0, 30.0), "small": (1.0, 1.0)})
    assert priced.cost_estimated and priced.cost is not None
    # 400 chars → 100 input tokens; no response → 50 output tokens (DEFAULT_OUTPUT_TOKENS)
    assert priced.cost[0, 0] == pytest.approx((100 * 10.0 + 50 * 30.0) / 1e6)
    assert priced.prices["big"] == (10.0, 30.0)


def test_estimate_tokens_is_chars_over_four_at_least_one() -> None:
    assert estimate_tokens("") == 1
    assert estimate_tokens("abc") == 1
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 400) == 100


def test_train_fraction_split_is_deterministic_and_roughly_70_30() -> None:
    keys = [f"query {i}" for i in range(2000)]
    first = train_fraction_split(keys)
    assert first.tolist() == train_fraction_split(keys).tolist()
    assert 0.66 < (first == "train").mean() < 0.74


# --- synthetic routerdc layout ------------------------------------------------------------------------------------


def test_routerdc_layout_converts_mc_prob_and_keeps_frac_of_10(tmp_path: Path) -> None:
    folder = tmp_path / "renamed_copy"
    folder.mkdir()
    pd.DataFrame(
        {
            "task": ["mmlu", "mmlu", "gsm8k"],
            "split": ["train", "test", "test"],
            "score_type": ["mc_prob", "mc_prob", "frac_of_10"],
            "source_file": ["f", "f", "g"],
            "row_idx": [0, 1, 0],
            "question": ["q1", "q2", "q3"],
            "cluster_id": [2.0, np.nan, np.nan],
            "org/m1": [0.37, 0.0, 0.3],
            "org/m2": [0.0, 0.99, 1.0],
        }
    ).to_csv(folder / "scores.csv.gz", index=False)
    table = load_outcomes(folder)
    assert table.quality.tolist() == [[1.0, 0.0], [0.0, 1.0], [0.3, 1.0]]
    assert table.cost is None and not table.cost_estimated
    priced = load_outcomes(folder, prices={"org/m1": (1.0, 1.0), "org/m2": (2.0, 2.0)})
    assert priced.cost_estimated and priced.cost is not None
    assert priced.cost[2, 1] == pytest.approx((estimate_tokens("q3") + 200) * 2.0 / 1e6)
    with pytest.raises(DataError, match="org/m2"):
        load_outcomes(folder, prices={"org/m1": (1.0, 1.0)})


# --- errors -------------------------------------------------------------------------------------------------------


def test_missing_path_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_outcomes(tmp_path / "nope.csv")


def test_malformed_csv_is_a_data_error(tmp_path: Path) -> None:
    garbage = tmp_path / "bad.csv.gz"
    garbage.write_bytes(b"\x00\x01 not gzip at all")
    with pytest.raises(DataError, match="bad.csv.gz"):
        load_outcomes(garbage)
    unknown = tmp_path / "unknown.csv"
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(unknown, index=False)
    with pytest.raises(DataError, match="expected"):
        load_outcomes(unknown)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.csv"):
        load_outcomes(empty)


def test_non_numeric_or_out_of_range_scores_are_data_errors(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    pd.DataFrame({"prompt": ["a"], "m": ["good"], "m|total_cost": [0.1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="numeric"):
        load_outcomes(path)
    pd.DataFrame({"prompt": ["a"], "m": [3.0], "m|total_cost": [0.1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        load_outcomes(path)
    pd.DataFrame({"prompt": ["a"], "m": [1.0], "m|total_cost": [-0.1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="negative cost"):
        load_outcomes(path)


def test_wrong_file_type_and_empty_folder_are_data_errors(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"\.csv"):
        load_outcomes(tmp_path / "notes.txt")
    with pytest.raises(DataError, match="no recognised outcome CSV"):
        load_outcomes(tmp_path)


# --- shared/data folders against their DATASHEETs -----------------------------------------------------------------

ROUTERBENCH_ACC_ALL = {  # DATASHEET "acc all (%)" and "mean cost/query (USD)"
    "mistralai/mistral-7b-chat": (58.4, 8.14e-05),
    "WizardLM/WizardLM-13B-V1.2": (56.8, 0.000123),
    "mistralai/mixtral-8x7b-chat": (74.2, 0.000248),
    "meta/code-llama-instruct-34b-chat": (61.1, 0.000311),
    "zero-one-ai/Yi-34B-Chat": (77.4, 0.000329),
    "claude-instant-v1": (67.4, 0.000365),
    "meta/llama-2-70b-chat": (61.9, 0.000377),
    "gpt-3.5-turbo-1106": (73.2, 0.000419),
    "claude-v1": (72.8, 0.00358),
    "claude-v2": (55.1, 0.0038),
    "gpt-4-1106-preview": (88.0, 0.00502),
}


def test_routerbench_folder_matches_datasheet() -> None:
    table = load_outcomes(shared("routerbench_via_routerdc"))
    assert len(table) == 3164 and len(table.models) == 11
    assert (table.splits == "test").sum() == 947 and (table.splits == "train").sum() == 2217
    assert set(table.tasks.tolist()) == {"arc-challenge", "mbpp", "winogrande"}
    assert not table.cost_estimated and table.cost is not None and table.responses is not None
    # gpt-3.5-turbo-1106 has 14 unrecorded scores: they stay NaN (masked), they are not zeros
    assert np.isnan(table.quality).sum() == 14
    assert np.isnan(table.quality[:, table.model_index("gpt-3.5-turbo-1106")]).sum() == 14
    for model, (acc, cost) in ROUTERBENCH_ACC_ALL.items():
        assert mean_pct(table, model) == pytest.approx(acc, abs=0.1), model
        assert float(table.cost[:, table.model_index(model)].mean()) == pytest.approx(cost, rel=0.01), model
    assert not table.texts[0].startswith("['")  # list literal parsed
    assert isinstance(table.responses[0, 0], str) and not table.responses[0, 0].startswith("['")


ROUTERDC_TEST = {  # DATASHEET per-model accuracy (%) on the test split, in model column order
    "mmlu": [62.1, 59.9, 57.4, 59.8, 60.5, 64.6, 59.5],
    "gsm8k": [36.7, 69.6, 41.0, 33.0, 52.4, 47.8, 69.8],
    "cmmlu": [43.8, 43.8, 49.7, 42.8, 43.7, 51.8, 44.7],
    "arc_challenge": [49.4, 48.3, 43.5, 58.0, 52.6, 49.4, 49.4],
    "humaneval": [29.0, 29.8, 21.4, 22.0, 45.1, 26.7, 49.4],
    "arc_easy": [81.2, 82.0, 77.6, 81.8, 83.0, 82.3, 78.3],
}
ROUTERDC_MODELS = (
    "mistralai/Mistral-7B-v0.1",
    "meta-math/MetaMath-Mistral-7B",
    "itpossible/Chinese-Mistral-7B-v0.1",
    "HuggingFaceH4/zephyr-7b-beta",
    "cognitivecomputations/dolphin-2.6-mistral-7b",
    "meta-llama/Meta-Llama-3-8B",
    "cognitivecomputations/dolphin-2.9-llama3-8b",
)


def test_routerdc_folder_matches_datasheet() -> None:
    table = load_outcomes(shared("routerdc_7llm"))
    assert len(table) == 18383 and table.models == ROUTERDC_MODELS
    assert (table.splits == "ood_test").sum() == 664
    assert table.cost is None and not table.cost_estimated
    test = table.split("test")
    for task, accs in ROUTERDC_TEST.items():
        sub = test.select(test.tasks == task)
        for model, acc in zip(ROUTERDC_MODELS, accs):
            assert mean_pct(sub, model) == pytest.approx(acc, abs=0.1), (task, model)
    mmlu = test.select(test.tasks == "mmlu")
    assert set(np.unique(mmlu.quality).tolist()) <= {0.0, 1.0}  # mc_prob → binary
    oracle_mmlu = float(np.nanmax(mmlu.quality, axis=1).mean() * 100)
    assert oracle_mmlu == pytest.approx(85.3, abs=0.1)


def test_routellm_folder_matches_datasheet_and_estimates_cost() -> None:
    table = load_outcomes(shared("routellm_gpt4_mixtral"))
    assert len(table) == 14042 - 5 + 1319 - 12  # contaminated prompts dropped
    assert table.meta["dropped_contaminated"] == {"mmlu": 5, "gsm8k": 12}
    families = np.array([t.split("/")[0] for t in table.tasks.tolist()])
    assert len(table.models) == 2 and set(families.tolist()) == {"mmlu", "gsm8k"}
    subjects = {t for t in table.tasks.tolist() if t.startswith("mmlu/")}
    assert len(subjects) == 57 and "mmlu/high_school_physics" in subjects  # MMLU rows are tasked by subject
    assert set(table.splits.tolist()) == {"train", "test"}
    assert 0.67 < (table.splits == "train").mean() < 0.73
    mmlu = table.select(families == "mmlu")
    assert mean_pct(mmlu, "gpt-4-1106-preview") == pytest.approx(80.58, abs=0.1)
    assert mean_pct(mmlu, "mistralai/Mixtral-8x7B-Instruct-v0.1") == pytest.approx(68.08, abs=0.1)
    gsm = table.select(table.tasks == "gsm8k")
    assert mean_pct(gsm, "gpt-4-1106-preview") == pytest.approx(85.67, abs=1.0)  # 12 rows dropped
    assert table.cost_estimated and table.cost is not None
    assert table.prices == ROUTELLM_PRICES
    assert table.input_tokens is not None
    j = table.model_index("gpt-4-1106-preview")
    row = int(np.flatnonzero(families == "mmlu")[0])
    assert table.input_tokens[row, j] == estimate_tokens(table.texts[row]) + ROUTELLM_MMLU_FEWSHOT_TOKENS
    assert (table.cost[:, j] > table.cost[:, 1 - j]).all()  # GPT-4 is dearer on every query
    assert gsm.responses is not None and all(isinstance(r, str) for r in gsm.responses.ravel())
    assert mmlu.responses is not None and all(r is None for r in mmlu.responses.ravel())


LLMROUTER_TEST = {  # DATASHEET test mean score (%)
    "llama3-chatqa-1.5-8b": 15.4,
    "qwen2.5-7b-instruct": 42.3,
    "llama3-chatqa-1.5-70b": 26.7,
    "llama-3.1-nemotron-51b-instruct": 56.3,
    "mistral-7b-instruct-v0.3": 27.7,
    "gemma-2-9b-it": 45.0,
    "llama-3.1-8b-instruct": 50.8,
    "codegemma-7b": 23.5,
    "llama-3.3-nemotron-super-49b-v1": 50.3,
}


def test_llmrouter_folder_matches_datasheet_and_estimates_cost() -> None:
    table = load_outcomes(shared("llmrouter_nim9"))
    assert len(table) == 6108 and len(table.models) == 9
    assert (table.splits == "test").sum() == 500
    test = table.split("test")
    for model, acc in LLMROUTER_TEST.items():
        assert mean_pct(test, model) == pytest.approx(acc, abs=0.1), model
    assert table.cost_estimated and table.cost is not None
    assert table.prices["gemma-2-9b-it"] == (0.1, 0.1)
    assert table.prices["llama-3.3-nemotron-super-49b-v1"] == (0.9, 0.9)
    assert "size: 9B" in table.descriptions["gemma-2-9b-it"]
    assert table.meta["sizes"]["llama-3.1-nemotron-51b-instruct"] == "51B"
    assert table.clusters is not None  # RouterDC-style clusters on train rows only; -1 = none
    assert (table.clusters[table.splits == "train"] >= 0).all() and (table.clusters[table.splits == "test"] == -1).all()
    row = int(np.flatnonzero(table.tasks == "gsm8k")[0])
    j = table.model_index("gemma-2-9b-it")
    assert table.output_tokens is not None and table.output_tokens[row, j] == LLMROUTER_OUTPUT_TOKENS["gsm8k"]
    expected = (estimate_tokens(table.texts[row]) * 0.1 + LLMROUTER_OUTPUT_TOKENS["gsm8k"] * 0.1) / 1e6
    assert table.cost[row, j] == pytest.approx(expected)


def test_routerarena_folder_matches_datasheet() -> None:
    table = load_outcomes(shared("routerarena_sub10"))
    assert len(table) == 809 and table.models == ("claude-3-haiku-20240307", "gemini-2.0-flash-001")
    assert len(set(table.tasks.tolist())) == 78
    assert mean_pct(table, "claude-3-haiku-20240307") == pytest.approx(52.3356, abs=0.1)
    assert mean_pct(table, "gemini-2.0-flash-001") == pytest.approx(69.0119, abs=0.1)
    assert not table.cost_estimated and table.cost is not None
    assert table.cost[:, 0].sum() == pytest.approx(0.142377, rel=1e-4)
    assert table.cost[:, 1].sum() == pytest.approx(0.03842, rel=1e-3)
    assert table.prices["gemini-2.0-flash-001"] == (0.1, 0.4)
    assert table.meta["clipped_negative_scores"] == 1  # one METEOR score of -0.033 clipped to 0
    # grouped split: a dataset family never appears in both splits
    families = np.array([t.split("_")[0] for t in table.tasks])
    assert not set(families[table.splits == "train"]) & set(families[table.splits == "test"])
    assert (table.splits == "test").sum() == 285


def test_folders_are_detected_by_their_files_not_their_name(tmp_path: Path) -> None:
    src = shared("routerarena_sub10")
    copy = tmp_path / "my_copy"
    copy.mkdir()
    for f in src.iterdir():
        if f.name != "DATASHEET.md":
            shutil.copy(f, copy / f.name.replace("routerarena", "xyz"))
    table = load_outcomes(copy)
    assert len(table) == 809 and table.name == "my_copy"
    single = load_outcomes(copy / "xyz_sub10_2models.csv.gz")
    assert len(single) == 809


def test_main_csv_of_a_folder_loads_alone() -> None:
    folder = shared("routellm_gpt4_mixtral")
    table = load_outcomes(folder / "gsm8k_gpt4_mixtral.csv.gz")
    assert len(table) == 1319 - 12 and set(table.tasks.tolist()) == {"gsm8k"}
