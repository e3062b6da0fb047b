"""The trained response judge: it learns, round-trips through safetensors, rejects bad files, and judges in a cascade."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from router_plugins import CheckpointError, DataError, ModelCard, ModelPool, Router
from router_plugins.escalation import Escalation
from router_plugins.scorer.response_judge import CHECKS, ResponseJudge, check_features

CHEAP = "cheap"


def worked(a: int, b: int, rng: np.random.Generator) -> tuple[str, str, float]:
    """A word problem and a cheap model's answer: right, or wrong in one of the ways real answers are wrong."""
    query = f"Tom has {a} apples and buys {b} more. How many apples does he have?"
    kind = rng.integers(4)
    if kind == 0:
        return query, f"He has {a} + {b} = {a + b + 1} apples.\n#### {a + b + 1}", 0.0  # wrong arithmetic
    if kind == 1:
        return query, f"Assuming some were eaten, roughly {a} apples remain, however it is unclear", 0.0
    return query, f"Tom starts with {a}. He buys {b}, so {a} + {b} = {a + b}.\n#### {a + b}", 1.0


@pytest.fixture(scope="module")
def data() -> tuple[list[str], list[str], list[float]]:
    rng = np.random.default_rng(0)
    rows = [worked(int(rng.integers(2, 90)), int(rng.integers(2, 90)), rng) for _ in range(240)]
    q, r, y = zip(*rows)
    return list(q), list(r), list(y)


@pytest.fixture(scope="module")
def judge(data: tuple[list[str], list[str], list[float]]) -> ResponseJudge:
    q, r, y = data
    return ResponseJudge(n_features=2**12).fit(CHEAP, q[:160], r[:160], y[:160])


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def test_the_judge_separates_right_from_wrong_on_held_out_answers(
    judge: ResponseJudge, data: tuple[list[str], list[str], list[float]]
) -> None:
    q, r, y = data
    conf = judge.confidence(CHEAP, q[160:], r[160:])
    assert conf.shape == (80,) and np.all((conf >= 0) & (conf <= 1))
    assert auc(conf, np.array(y[160:])) > 0.95
    oof = ResponseJudge(n_features=2**12).out_of_fold(CHEAP, q[:160], r[:160], y[:160])
    assert auc(oof, np.array(y[:160])) > 0.9


def test_check_features_read_the_answer() -> None:
    right = dict(zip(CHECKS, check_features("3 + 4 = 7\n#### 7", ["#### 7"])))
    wrong = dict(zip(CHECKS, check_features("3 + 4 = 8, assuming nothing else. About 7.5", ["#### 7"])))
    assert right["no_marked_answer"] == 0 and wrong["no_marked_answer"] == 1
    assert (right["wrong_steps"], wrong["wrong_steps"]) == (0, 1)
    assert (right["hedged"], wrong["hedged"]) == (0, 1)
    assert (right["non_integer_answer"], wrong["non_integer_answer"]) == (0, 1)
    assert (right["agreement"], wrong["agreement"]) == (1.0, 0.0)


def test_save_load_round_trip_and_tampering(judge: ResponseJudge, tmp_path: Path,
                                            data: tuple[list[str], list[str], list[float]]) -> None:
    q, r, _ = data
    folder = judge.save(tmp_path / "judge")
    loaded = ResponseJudge.load(folder)
    assert loaded.models == (CHEAP,)
    np.testing.assert_allclose(loaded.confidence(CHEAP, q[:20], r[:20]), judge.confidence(CHEAP, q[:20], r[:20]),
                               rtol=1e-5)

    weights = folder / "judge.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-3] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="sha256"):
        ResponseJudge.load(folder)

    (folder / "judge.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        ResponseJudge.load(folder)
    with pytest.raises(CheckpointError, match="no judge.json"):
        ResponseJudge.load(tmp_path / "missing")


def test_a_judge_saved_with_other_checks_is_refused(judge: ResponseJudge, tmp_path: Path) -> None:
    folder = judge.save(tmp_path / "judge")
    cfg = json.loads((folder / "judge.json").read_text())
    cfg["checks"] = cfg["checks"][:-1]
    (folder / "judge.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="checks"):
        ResponseJudge.load(folder)


def test_bad_training_data_and_unknown_models_raise(data: tuple[list[str], list[str], list[float]]) -> None:
    q, r, _ = data
    with pytest.raises(DataError, match="all right"):
        ResponseJudge().fit(CHEAP, q[:10], r[:10], [1.0] * 10)
    with pytest.raises(DataError, match="10 queries, 9 responses"):
        ResponseJudge().fit(CHEAP, q[:10], r[:9], [1.0] * 10)
    with pytest.raises(DataError, match="not 'other'"):
        ResponseJudge().fit(CHEAP, q[:20], r[:20], [float(i % 2) for i in range(20)]).confidence("other", q[:1], r[:1])


def test_the_judge_drives_a_routers_escalation(judge: ResponseJudge) -> None:
    pool = ModelPool([ModelCard(name=CHEAP, input_price=0.1, output_price=0.1),
                      ModelCard(name="strong", input_price=10.0, output_price=30.0)])
    router = Router(pool, plugins=[judge], load_entrypoints=False,
                    disable_plugins=["router_plugins.scorer.plugin"])
    esc = Escalation((CHEAP, "strong"), (0.5,))
    query = "Tom has 12 apples and buys 30 more. How many apples does he have?"
    good = {CHEAP: "Tom starts with 12. He buys 30, so 12 + 30 = 42.\n#### 42", "strong": "#### 42"}
    bad = {CHEAP: "Assuming some were eaten, roughly 12 apples remain, however it is unclear", "strong": "#### 42"}
    assert router.escalate(query, esc, good.__getitem__).model == CHEAP
    result = router.escalate(query, esc, bad.__getitem__)
    assert result.model == "strong" and result.attempts[0].confidence < 0.5


def test_eval_reports_a_trained_judge_cascade(tmp_path: Path, cli: object, tiny_encoder_dir: Path) -> None:
    """``eval`` on data with responses adds the trained-judge cascade beside the pre-generation routers; hostile
    responses are only hashed, and --task keeps one task."""
    import pandas as pd
    from click.testing import CliRunner

    rng = np.random.default_rng(1)
    rows = []
    for i in range(300):
        query, answer, right = worked(int(rng.integers(2, 90)), int(rng.integers(2, 90)), rng)
        if i % 50 == 7:
            answer = "__import__('os').system('touch pwned') " + "\x00" * 3
        strong_right = float(rng.random() < 0.95)
        rows.append({"prompt": query, "eval_name": "apples", "split": "train" if i < 200 else "test",
                     CHEAP: right, f"{CHEAP}|total_cost": 1.0, f"{CHEAP}|model_response": answer,
                     "strong": strong_right, "strong|total_cost": 20.0, "strong|model_response": "#### 1"})
    rows.append({**rows[0], "eval_name": "other", "prompt": "not evaluated"})
    data = tmp_path / "outcomes.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    out = tmp_path / "report"
    res = CliRunner().invoke(cli, ["eval", "--data", str(data), "--out", str(out), "--scorers", "knn",  # type: ignore[arg-type]
                                   "--encoder", str(tiny_encoder_dir), "--task", "apples"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    report = json.loads((out / "report.json").read_text())
    assert report["n"] == 100 and set(report["per_task"]) == {"apples"}
    points = report["post_generation"]["judge_cascade"]["points"]
    judged = [p for p in points if "judge ≥" in p["modes"]["apples"]]
    assert judged and "trained-judge cascades alone" in res.output
    cheap_q = report["models"][CHEAP]["quality"]
    best = max(judged, key=lambda p: p["quality"])
    assert best["quality"] > cheap_q + 0.1 and best["cost_share"] < 0.6  # the judge escalates the wrong answers
    lo, hi = best["vs_reference"]["ci95"]
    assert lo <= best["vs_reference"]["diff"] <= hi


def test_a_judge_saved_by_an_older_format_is_refused_with_the_fix(judge: ResponseJudge, tmp_path: Path) -> None:
    folder = judge.save(tmp_path / "judge")
    cfg = json.loads((folder / "judge.json").read_text())
    assert cfg["format_version"] == 2
    cfg["format_version"] = 1  # written before the solution checks joined the features
    (folder / "judge.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="v1 file.*fit the judge again"):
        ResponseJudge.load(folder)


def test_check_families_apply_only_where_the_responses_show_them() -> None:
    from router_plugins.scorer.response_judge import applicable_checks

    letters = np.array([check_features(r, (), "Which gas do plants take in? A) O2 B) CO2") for r in "ABAB" * 5])
    worked_rows = np.array([check_features("13 + 45 = 58\n#### 58", (), "Tom has 13 and buys 45.")] * 20)
    names = list(CHECKS)
    assert applicable_checks(letters)[names.index("question_numbers_unused")] == 0.0
    assert applicable_checks(letters)[names.index("code_parses")] == 0.0
    assert applicable_checks(letters)[names.index("wrong_steps")] == 1.0  # the original checks always apply
    assert applicable_checks(worked_rows)[names.index("question_numbers_unused")] == 1.0
