"""Which features make the trained response judge better? Out-of-fold train AUC and test AUC per task and model.

Judges of a cheap model's correctness from (query, its response), fitted on the train rows only (4-fold out-of-fold AUC
on train, then fitted on all of train and scored on test):

* ``v1`` — the judge before session 7: tf-idf of hashed n-grams of 'query || response' + the 8 model-free checks;
* ``v2`` — ``ResponseJudge`` today: the same + the solution and code checks where the responses show steps / code (:mod:`router_plugins.solution_checks`,
  :mod:`router_plugins.code_checks`);
* ``gb`` — scikit-learn gradient boosting over the checks alone (no text);
* ``v2+gb`` — mean rank of the two;
* ``minilm`` (``--minilm``, GSM8K only) — logistic regression on the MiniLM embedding of the response.

Tasks: RouteLLM GSM8K (Mixtral) and RouterBench ARC-Challenge / Winogrande / MBPP (the three cheap models ``eval``'s
judge cascades use per task: best train quality among those costing < 15 % of GPT-4).

    HF_HUB_OFFLINE=1 python benchmarks/judge_features.py [--data-root ../shared/data] [--minilm]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from router_plugins.scorer.response_judge import CHECKS, ResponseJudge, check_features
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from router_plugins.code_checks import CODE_CHECKS
from router_plugins.replay import OutcomeTable, load_outcomes
from router_plugins.replay.judge_cascade import MAX_JUDGED
from router_plugins.replay.post_generation import _strong_and_cheap
from router_plugins.solution_checks import SOLUTION_CHECKS

ROOT = Path(__file__).resolve().parent
FOLDS = 4
N_V1 = len(CHECKS) - len(SOLUTION_CHECKS) - len(CODE_CHECKS)
Fit = Callable[[NDArray[np.int64], NDArray[np.int64]], NDArray[np.float64]]


class V1Judge(ResponseJudge):
    """The judge as it was before the solution and code checks (their columns held at 0, so they weigh nothing)."""

    @staticmethod
    def _checks(queries: Sequence[str], responses: Sequence[str], earlier: Sequence[Sequence[str]] | None
                ) -> NDArray[np.float64]:
        checks = ResponseJudge._checks(queries, responses, earlier)
        checks[:, N_V1:] = 0.0
        return checks


def scores(q: list[str], r: list[str], y: NDArray[np.bool_], fit: NDArray[np.int64], new: NDArray[np.int64],
           kind: str, emb: NDArray[np.float32] | None = None) -> NDArray[np.float64]:
    """P(right) of the rows ``new`` from a judge of ``kind`` fitted on the rows ``fit``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if kind in ("v1", "v2"):
        judge = (V1Judge() if kind == "v1" else ResponseJudge()).fit("m", [q[i] for i in fit], [r[i] for i in fit],
                                                                     y[fit].astype(float))
        return judge.confidence("m", [q[i] for i in new], [r[i] for i in new])
    if kind == "gb":
        x = np.array([check_features(r[i], (), q[i]) for i in range(len(q))])
        clf = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=20,
                                             l2_regularization=1.0, random_state=0).fit(x[fit], y[fit])
        return clf.predict_proba(x[new])[:, 1]
    assert kind == "minilm" and emb is not None
    return LogisticRegression(C=0.1, max_iter=3000).fit(emb[fit], y[fit]).predict_proba(emb[new])[:, 1]


def evaluate(q: list[str], r: list[str], y: NDArray[np.bool_], train: NDArray[np.int64], test: NDArray[np.int64],
             kinds: list[str], emb: NDArray[np.float32] | None = None) -> dict[str, dict[str, float]]:
    """Out-of-fold train AUC and test AUC of each kind of judge (and of the v2+gb rank mean)."""
    fold = np.random.default_rng(0).permutation(len(train)) % FOLDS
    oof: dict[str, NDArray[np.float64]] = {}
    out: dict[str, NDArray[np.float64]] = {}
    for kind in kinds:
        o = np.empty(len(train))
        for k in range(FOLDS):
            o[fold == k] = scores(q, r, y, train[fold != k], train[fold == k], kind, emb)
        oof[kind], out[kind] = o, scores(q, r, y, train, test, kind, emb)
    if "v2" in kinds and "gb" in kinds:
        oof["v2+gb"] = rankdata(oof["v2"]) + rankdata(oof["gb"])
        out["v2+gb"] = rankdata(out["v2"]) + rankdata(out["gb"])
    return {k: {"oof_train_auc": float(roc_auc_score(y[train], oof[k])),
                "test_auc": float(roc_auc_score(y[test], out[k]))} for k in oof}


def columns(table: OutcomeTable, task: str) -> list[int]:
    """The cheap models ``eval`` judges on this task (best train quality first, at most MAX_JUDGED)."""
    train = table.select((table.splits == "train") & (table.tasks == task))
    _, cheap = _strong_and_cheap(train)
    return sorted(cheap, key=lambda j: -float(np.nanmean(train.quality[:, j])))[:MAX_JUDGED]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "judge_features.json")
    ap.add_argument("--minilm", action="store_true", help="also a judge on MiniLM embeddings of GSM8K responses")
    args = ap.parse_args()
    start = time.perf_counter()
    jobs: list[tuple[OutcomeTable, str, int]] = []
    gsm = load_outcomes(args.data_root / "routellm_gpt4_mixtral")
    gsm = gsm.select(gsm.tasks == "gsm8k")
    jobs.append((gsm, "gsm8k", 0))
    bench = load_outcomes(args.data_root / "routerbench_via_routerdc")
    for task in ("arc-challenge", "winogrande", "mbpp"):
        jobs += [(bench, task, j) for j in columns(bench, task)]
    results: dict[str, dict[str, dict[str, float]]] = {}
    print("| task | model | judge | out-of-fold train AUC | test AUC |\n|---|---|---|---:|---:|")
    for table, task, j in tqdm(jobs, desc="judges", leave=False):
        assert table.responses is not None
        on = table.tasks == task
        q = [str(t) for t, m in zip(table.texts, on) if m]
        r = [str(x) for x in table.responses[on, j]]
        y = np.nan_to_num(table.quality[on, j]) >= 0.5
        splits = table.splits[on]
        kinds, emb = ["v1", "v2", "gb"], None
        if args.minilm and task == "gsm8k":
            from router_plugins.scorer.encoders import CachedEncoder, make_encoder

            emb, kinds = CachedEncoder(make_encoder("minilm")).encode(r), [*kinds, "minilm"]
        res = evaluate(q, r, y, np.flatnonzero(splits == "train"), np.flatnonzero(splits == "test"), kinds, emb)
        results[f"{task}/{table.models[j]}"] = res
        for kind, v in res.items():
            print(f"| {task} | {table.models[j].split('/')[-1]} | {kind} | {v['oof_train_auc']:.3f} | "
                  f"{v['test_auc']:.3f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
