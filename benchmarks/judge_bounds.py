"""How far can post-generation routing go on the issue-15 item-4 targets? Ceilings for policies that read the cheap
models' recorded answers, and the judge quality each target needs.

A post-generation policy calls cheap models one at a time, reads what they answered, and then keeps one of their
answers, calls another cheap model, or escalates to GPT-4. This script computes, on the **test** rows with the **test
labels** (an optimistic ceiling like `routing_bounds.py`, not a router), the best such policy whose decisions may depend
only on a discrete reading of the answers seen so far:

* ``agreement`` — which of the called models gave the same final answer (the partition of their answers);
* ``judge/B`` — each called answer's trained-judge score (``ResponseJudge``, fitted on the train rows of its task and
  model) cut into B quantile bins; ``agreement+judge/B`` both.

The ceiling is exact over every *adaptive* policy of up to ``--depth`` cheap calls (which model to call next may depend
on what was read; every call is paid when made): per task a dynamic programme over (set of models called, group of
rows reading the same) maximises Σ quality − λ·Σ cost for each λ; a λ sweep and the concave hull give the quality at
the cost cap (mixing two policies = the fractional knapsack). Finer readings only raise it: with one group per row it is
the per-query oracle. Below the target = no policy that reads only this much can reach it.

Test-chosen groups fit noise as they get finer, so each judge reading is also shown with an uninformative judge (AUC
0.5, random bins): a ceiling at or above the target there bounds nothing. More cheap calls make the agreement reading
finer too (the agreement ceiling is printed for 1 to 8 calls): a bound holds only for the depth it was computed at.

"Judge quality needed": ``eval``'s post-generation routers (``post_generation_report``: votes, agreement cascades and
judge cascades, all chosen on **train** and replayed on test) with the trained judge replaced by a simulated one whose
score is binormal with ROC AUC a on each answer's correctness (one fixed draw per answer, independent across answers
given the labels; ``--seeds`` draws). The AUC where its best point at ≤ the cap reaches the target is what a judge must
reach; the trained judges' test AUCs are printed beside it. On GSM8K (one cheap model) also the cost share that reaches
the target when escalating by the judge's exact ranking with the threshold chosen on test (a ceiling for that judge).

    HF_HUB_OFFLINE=1 python benchmarks/judge_bounds.py [--data-root ../shared/data] [--out benchmarks/results/judge_bounds.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _policy_ceiling import TaskRows, target_ceiling
from numpy.typing import NDArray
from scipy.stats import norm
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from router_plugins.replay import OutcomeTable, load_outcomes
from router_plugins.replay.post_generation import CHEAP_SHARE, answer_keys, post_generation_report

ROOT = Path(__file__).resolve().parent
GPT4 = "gpt-4-1106-preview"
AUCS = (0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95)
DEPTHS = (1, 2, 3, 4, 5, 6, 8)


@dataclass(frozen=True)
class Target:
    """One target of issue 15 item 4 and where the train-chosen eval point of RESULTS.md is recorded."""

    label: str
    dataset: str
    tasks: tuple[str, ...]
    cap: float  # cost share of GPT-4
    quality_share: float  # of GPT-4's test quality
    report: str  # benchmarks/results/judge_cascade/<report>/report.json


TARGETS = (
    Target("RouterBench ARC-Challenge + Winogrande: GPT-4's quality at ≤ 50 %", "routerbench_via_routerdc",
           ("arc-challenge", "winogrande"), 0.50, 1.0, "routerbench_arc_winogrande"),
    Target("RouterBench all three tasks: GPT-4's quality at ≤ 65 %", "routerbench_via_routerdc",
           ("arc-challenge", "mbpp", "winogrande"), 0.65, 1.0, "routerbench_all"),
    Target("RouteLLM GSM8K: 95 % of GPT-4's quality at ≤ 45 %", "routellm_gpt4_mixtral", ("gsm8k",), 0.45, 0.95,
           "routellm_gsm8k"),
)


def judge_scores(train: OutcomeTable, test: OutcomeTable, cols: list[int]) -> dict[int, NDArray[np.float64]]:
    """Test-row confidences of a ResponseJudge per model, fitted on the task's train rows (single answer, no earlier)."""
    from router_plugins.scorer.response_judge import ResponseJudge

    assert train.responses is not None and test.responses is not None
    out = {}
    q_tr, q_te = [str(t) for t in train.texts], [str(t) for t in test.texts]
    for j in cols:
        y = np.nan_to_num(train.quality[:, j])
        if (y >= 0.5).all() or not (y >= 0.5).any():
            out[j] = np.full(len(test), float((y >= 0.5).mean()))
            continue
        judge = ResponseJudge().fit(train.models[j], q_tr, [str(r) for r in train.responses[:, j]], y)
        out[j] = judge.confidence(train.models[j], q_te, [str(r) for r in test.responses[:, j]])
    return out


@functools.lru_cache(maxsize=8)
def task_rows(table: OutcomeTable, task: str) -> TaskRows:
    """A task's test rows with the callable (cheap: mean train cost < CHEAP_SHARE of GPT-4's) models' judge scores."""
    keys = _keys(table)
    train = table.select((table.splits == "train") & (table.tasks == task))
    on_test = (table.splits == "test") & (table.tasks == task)
    test = table.select(on_test)
    strong = table.model_index(GPT4)
    assert train.cost is not None and test.cost is not None
    c_train = np.nanmean(train.cost, axis=0)
    cheap = [j for j in range(len(table.models)) if j != strong and c_train[j] < CHEAP_SHARE * c_train[strong]]
    scores = judge_scores(train, test, cheap)
    y = np.nan_to_num(test.quality) >= 0.5
    auc = {j: float(roc_auc_score(y[:, j], scores[j])) if 0 < y[:, j].mean() < 1 else float("nan") for j in cheap}
    return TaskRows(np.nan_to_num(test.quality), np.nan_to_num(test.cost), keys[on_test], strong, cheap, scores, auc)


@functools.lru_cache(maxsize=4)
def _keys(table: OutcomeTable) -> NDArray[np.int64]:
    return answer_keys(table)


def bins_of(score: NDArray[np.float64], n_bins: int) -> NDArray[np.int64]:
    """Quantile bins of a score over these rows (features only, no labels)."""
    if n_bins <= 1:
        return np.zeros(len(score), dtype=np.int64)
    edges = np.quantile(score, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, score, side="right").astype(np.int64)


def judge_features(rows: TaskRows, n_bins: int, scores: dict[int, NDArray[np.float64]] | None = None
                   ) -> NDArray[np.int64]:
    """(n, m) bin of each callable model's judge score (0 for the others)."""
    feats = np.zeros(rows.keys.shape, dtype=np.int64)
    for j in rows.callable:
        feats[:, j] = bins_of((scores or rows.scores)[j], n_bins)
    return feats


def simulated_scores(rows: TaskRows, auc: float, rng: np.random.Generator) -> dict[int, NDArray[np.float64]]:
    """Binormal judge scores of ROC AUC ``auc`` on each callable model's correctness, independent given the labels."""
    d = np.sqrt(2.0) * norm.ppf(auc)
    return {j: rng.standard_normal(len(rows.q)) + d * (rows.q[:, j] >= 0.5) for j in rows.callable}


def ranked_cost_share(rows: TaskRows, score: NDArray[np.float64], cheap: int, goal: float) -> float:
    """Single cheap model → GPT-4, escalating the lowest judge scores first: cost share of GPT-4 at which the mean
    quality first reaches ``goal`` (threshold chosen on these rows; NaN if never)."""
    order = np.argsort(score, kind="stable")
    gain = np.concatenate([[0.0], np.cumsum(rows.q[order, rows.strong] - rows.q[order, cheap])])
    cost = rows.c[:, cheap].sum() + np.concatenate([[0.0], np.cumsum(rows.c[order, rows.strong])])
    quality = (rows.q[:, cheap].sum() + gain) / len(score)
    ok = np.flatnonzero(quality >= goal - 1e-12)
    return float(cost[ok[0]] / rows.c[:, rows.strong].sum()) if len(ok) else float("nan")


def eval_point_of(points: list[dict[str, Any]], cap: float) -> dict[str, Any]:
    """The best train-chosen post-generation point at ≤ cap (quality 0 when none is that cheap)."""
    ok = [p for p in points if p["cost_share"] is not None and p["cost_share"] <= cap + 1e-9]
    best = max(ok, key=lambda p: (p["quality"], -p["cost"])) if ok else {"quality": 0.0, "cost_share": float("nan")}
    return {"quality": best["quality"], "cost_share": best["cost_share"]}


def eval_point(report: Path, cap: float) -> dict[str, Any] | None:
    """The best point at ≤ cap of an ``eval`` report.json (RESULTS.md's figures), None when it was not run."""
    if not report.is_file():
        return None
    return eval_point_of(json.loads(report.read_text())["post_generation"]["points"], cap)


class SimulatedJudge:
    """A ``JudgeFactory`` for ``post_generation_report`` whose confidence in an answer is a binormal score of ROC AUC
    ``auc`` on that answer's recorded correctness (one fixed draw per answer, so out-of-fold and full fits agree):
    what ``eval`` would reach with a judge that good, everything else chosen on train as usual."""

    def __init__(self, table: OutcomeTable, auc: float, seed: int) -> None:
        assert table.responses is not None
        rng = np.random.default_rng(seed)
        score = rng.standard_normal(table.quality.shape) + np.sqrt(2.0) * norm.ppf(auc) * (
            np.nan_to_num(table.quality) >= 0.5)
        self._score: dict[tuple[str, str, str], float] = {}
        for (i, j), s in np.ndenumerate(score):
            self._score.setdefault((table.models[j], str(table.texts[i]), str(table.responses[i, j])), float(s))

    def __call__(self, model: str, queries: Any, responses: Any, correct: Any, earlier: Any) -> Any:
        def confidence(q: Any, r: Any, e: Any) -> NDArray[np.float64]:
            s = np.array([self._score.get((model, str(a), str(b)), 0.0) for a, b in zip(q, r)])
            return 1.0 / (1.0 + np.exp(-s))

        return confidence


def run_target(target: Target, table: OutcomeTable, args: argparse.Namespace) -> dict[str, Any]:
    """Every ceiling and the judge-AUC sweep of one target."""
    per_task = [task_rows(table, t) for t in target.tasks]
    n = sum(len(r.q) for r in per_task)
    ref_q = sum(float(r.q[:, r.strong].sum()) for r in per_task) / n
    ref_c = sum(float(r.c[:, r.strong].sum()) for r in per_task) / n
    goal, budget = target.quality_share * ref_q, target.cap * ref_c
    out: dict[str, Any] = {"n_test": n, "target_quality": goal, "cap": target.cap, "gpt4_quality": ref_q,
                           "eval_point": eval_point(args.reports / target.report / "report.json", target.cap),
                           "judge_test_auc": {f"{t}/{table.models[j]}": r.auc[j] for t, r in zip(target.tasks, per_task)
                                              for j in r.callable}}
    perfect = [(r.q >= 0.5).astype(np.int64) for r in per_task]  # a judge that knows each answer's correctness
    out["ceilings"] = {f"perfect judge, ≤{args.depth} cheap calls": target_ceiling(per_task, perfect, True, args.depth,
                                                                                   budget)}
    readings = [("agreement", True, 1), ("judge/2", False, 2), ("judge/4", False, 4), ("agreement+judge/2", True, 2),
                ("agreement+judge/4", True, 4)]
    for name, agree, n_bins in tqdm(readings, desc=f"ceilings {target.report}", leave=False):
        feats = [judge_features(r, n_bins) for r in per_task]
        out["ceilings"][f"{name}, ≤{args.depth} cheap calls"] = target_ceiling(per_task, feats, agree, args.depth,
                                                                               budget)
    plain = [judge_features(r, 1) for r in per_task]  # agreement alone, by how many cheap calls a policy may make
    out["agreement_by_depth"] = {d: target_ceiling(per_task, plain, True, d, budget) for d in DEPTHS}
    rng = np.random.default_rng(0)
    for name, agree, n_bins in readings[1:]:  # the same readings with an uninformative judge: the noise floor
        vals = []
        for _ in range(args.seeds):
            feats = [judge_features(r, n_bins, simulated_scores(r, 0.5, rng)) for r in per_task]
            vals.append(target_ceiling(per_task, feats, agree, args.depth, budget))
        out["ceilings"][f"{name}, ≤{args.depth} cheap calls, judge of AUC 0.5 (noise floor)"] = float(np.mean(vals))
    sweep: dict[str, Any] = {}
    single = len(per_task) == 1 and len(per_task[0].callable) == 1
    train = table.select((table.splits == "train") & np.isin(table.tasks, target.tasks))
    test = table.select((table.splits == "test") & np.isin(table.tasks, target.tasks))
    for auc in tqdm(AUCS, desc=f"simulated judges {target.report}", leave=False):
        points, shares = [], []
        for seed in range(args.seeds):
            rep = post_generation_report(train, test, GPT4, judge=SimulatedJudge(table, auc, seed))
            points.append(eval_point_of(rep["points"], target.cap))
            if single:
                j = per_task[0].callable[0]
                shares.append(ranked_cost_share(per_task[0], simulated_scores(per_task[0], auc, rng)[j], j, goal))
        sweep[f"{auc:.2f}"] = {"eval_quality_at_cap": float(np.mean([p["quality"] for p in points])),
                               "eval_quality_sd": float(np.std([p["quality"] for p in points])),
                               "eval_cost_share": float(np.mean([p["cost_share"] for p in points]))}
        if shares:
            sweep[f"{auc:.2f}"]["ranked_cost_share_for_target"] = float(np.nanmean(shares))
    out["simulated_judge"] = {"seeds": args.seeds, "auc": sweep}
    if single:
        j = per_task[0].callable[0]
        out["trained_judge_ranked_cost_share"] = ranked_cost_share(per_task[0], per_task[0].scores[j], j, goal)
    return out


def needed_auc(sweep: dict[str, Any], goal: float, key: str, cap: float | None = None) -> float:
    """The AUC at which the sweep crosses the target (linear between grid points; inf when it never does)."""
    aucs = np.array([float(a) for a in sweep])
    vals = np.array([v.get(key, np.nan) for v in sweep.values()])
    ok = vals >= goal if cap is None else vals <= cap
    if not ok.any():
        return float("inf")
    i = int(np.argmax(ok))
    if i == 0:
        return float(aucs[0])
    lo, hi = vals[i - 1], vals[i]
    edge = goal if cap is None else cap
    return float(aucs[i - 1] + (aucs[i] - aucs[i - 1]) * (edge - lo) / (hi - lo))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--reports", type=Path, default=ROOT / "results" / "judge_cascade")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "judge_bounds.json")
    ap.add_argument("--depth", type=int, default=3, help="most cheap calls before the final decision")
    ap.add_argument("--seeds", type=int, default=5, help="draws of each simulated judge")
    args = ap.parse_args()
    start = time.perf_counter()
    tables: dict[str, OutcomeTable] = {}
    results: dict[str, Any] = {}
    for target in TARGETS:
        if target.dataset not in tables:
            tables[target.dataset] = load_outcomes(args.data_root / target.dataset)
        res = run_target(target, tables[target.dataset], args)
        res["needed_auc"] = needed_auc(res["simulated_judge"]["auc"], res["target_quality"], "eval_quality_at_cap")
        if "trained_judge_ranked_cost_share" in res:
            res["needed_auc_ranked"] = needed_auc(res["simulated_judge"]["auc"], 0.0, "ranked_cost_share_for_target",
                                                  cap=target.cap)
        results[target.label] = res
        _print(target, res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=float))
    plot(results, args.out.with_suffix(".png"))
    print(f"\nwrote {args.out} and {args.out.with_suffix('.png')} in {time.perf_counter() - start:.0f} s")


def plot(results: dict[str, Any], path: Path) -> None:
    """Per target: eval's quality at the cap against the simulated judge's AUC, the target, the agreement ceiling and
    the trained judges' test AUCs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4))
    for ax, (label, res) in zip(np.atleast_1d(axes), results.items()):
        sweep = res["simulated_judge"]["auc"]
        aucs = [float(a) for a in sweep]
        q = np.array([v["eval_quality_at_cap"] for v in sweep.values()])
        sd = np.array([v["eval_quality_sd"] for v in sweep.values()])
        ax.errorbar(aucs, q, yerr=sd, marker="o", label="eval with a simulated judge (chosen on train)")
        ax.axhline(res["target_quality"], color="k", ls="--", label="target")
        agree = next(v for k, v in res["ceilings"].items() if k.startswith("agreement,"))
        ax.axhline(agree, color="tab:red", ls=":", label="agreement-only ceiling (test labels)")
        for auc in res["judge_test_auc"].values():
            ax.axvline(auc, color="tab:green", alpha=0.3)
        ax.set(title=label.split(":")[0], xlabel="judge ROC AUC (green: trained judges, test)",
               ylabel=f"quality at ≤ {res['cap']:.0%} of GPT-4's cost")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _print(target: Target, res: dict[str, Any]) -> None:
    ev = res["eval_point"]
    print(f"\n### {target.label} (n_test={res['n_test']}; target {res['target_quality']:.4f} at ≤ {target.cap:.0%})")
    point = "—" if ev is None else f"{ev['quality']:.4f} at {ev['cost_share']:.1%}"
    print(f"best train-chosen eval point at ≤ cap: {point}\n")
    print("| ceiling (test labels) | quality at the cap |\n|---|---:|")
    for name, v in res["ceilings"].items():
        print(f"| {name} | {v:.4f} |")
    print("\nagreement-only ceiling by the most cheap calls: "
          + ", ".join(f"{d}: {v:.4f}" for d, v in res["agreement_by_depth"].items()))
    print("\n| simulated judge AUC | eval's best point at ≤ cap (chosen on train) | ranked cost share for the target |")
    print("|---:|---:|---:|")
    for auc, v in res["simulated_judge"]["auc"].items():
        share = v.get("ranked_cost_share_for_target")
        shown = "—" if share is None else f"{share:.3f}"
        print(f"| {auc} | {v['eval_quality_at_cap']:.4f} ± {v['eval_quality_sd']:.4f} at {v['eval_cost_share']:.1%} "
              f"| {shown} |")
    aucs = ", ".join(f"{k.split('/')[-1]} {v:.3f}" for k, v in res["judge_test_auc"].items())
    print(f"\njudge AUC needed (eval's train-chosen point at ≤ cap reaches the target): {res['needed_auc']:.3f}; "
          f"trained judges' test AUC: {aucs}")
    if "trained_judge_ranked_cost_share" in res:
        print(f"trained judge, exact ranking, threshold on test: {res['trained_judge_ranked_cost_share']:.3f} of GPT-4's "
              f"cost for the target; AUC needed for ≤ {target.cap:.0%}: {res['needed_auc_ranked']:.3f}")


if __name__ == "__main__":
    main()
