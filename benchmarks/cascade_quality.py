"""Escalation cascades replayed exactly from recorded answers, against GPT-4 and the pre-generation routers.

A cascade calls a cheap model first and escalates while the judge says no (``router_plugins.escalation``); every
call is paid at its recorded (or token-estimated) cost. Escalations and thresholds are chosen on the **train** split
(their cost–quality Pareto front), then replayed on **test**. Two datasets record the answers:

* ``routerbench_via_routerdc`` — ARC-Challenge and Winogrande answers are option letters: up to three cheap models,
  then GPT-4, judged by the built-in checks (keep a lone answer, or only answers two cheap models agree on). MBPP
  answers are programs whose grading tests the prompts do not show, so MBPP rows go to the cheapest model within 2
  points of the best train MBPP quality.
* ``routellm_gpt4_mixtral`` GSM8K — Mixtral, then GPT-4, judged (a) by the built-in checks (provably wrong
  arithmetic, no final answer) and (b) by a ``ResponseJudge`` trained on the train split's Mixtral answers
  (thresholds from its out-of-fold confidences on train).

Prints markdown tables; writes ``benchmarks/results/cascade/<dataset>.json`` and ``cost_quality.png`` plots.

    python benchmarks/cascade_quality.py [--data-root ../shared/data] [--out benchmarks/results/cascade]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.escalation import Escalation, escalation_front, replay_escalation, threshold_grid
from router_plugins.replay import cost_to_match
from router_plugins.judges import checked_confidence
from router_plugins.replay import OutcomeTable, load_outcomes

ROOT = Path(__file__).resolve().parent
GPT4 = "gpt-4-1106-preview"
MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
Confidence = Callable[[int, tuple[int, ...]], float]
Front = list[tuple[Escalation, float, float]]


def builtin_confidence(table: OutcomeTable, models: Sequence[str]) -> Confidence:
    """The built-in judge (router_plugins.default_plugins.answer_checks) over recorded responses."""
    cols = [table.model_index(m) for m in models]

    def conf(row: int, steps: tuple[int, ...]) -> float:
        responses = [str(table.responses[row, cols[s]]) for s in steps]  # type: ignore[index]
        return checked_confidence(responses[-1], responses[:-1])

    return conf


def columns(table: OutcomeTable, models: Sequence[str]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Quality and cost of ``models`` in that order."""
    cols = [table.model_index(m) for m in models]
    assert table.cost is not None
    return table.quality[:, cols], np.nan_to_num(table.cost[:, cols])


def replay(table: OutcomeTable, esc: Escalation, conf: Callable[[Sequence[str]], Confidence]
           ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Per-row quality, cost and calls of one escalation on a table."""
    q, c = columns(table, esc.models)
    return replay_escalation(esc, q, c, conf(esc.models))


def evaluate_front(front: Front, test: OutcomeTable, conf: Callable[[Sequence[str]], Confidence],
                   gpt4_calls: bool = False) -> list[dict[str, Any]]:
    """Each train-front escalation replayed on test."""
    rows = []
    for esc, q_train, c_train in front:
        q, c, calls = replay(test, esc, conf)
        row = {"escalation": esc.describe(), "train_quality": q_train, "train_cost": c_train,
               "quality": float(np.nanmean(q)), "cost": float(c.mean()), "mean_calls": float(calls.mean())}
        if gpt4_calls:  # RouteLLM's cost measure: share of queries that reach the strong model
            row["gpt4_call_share"] = float(np.mean(calls == len(esc.models)))
        rows.append(row)
    return rows


def operating_point(front: Front, rows: list[dict[str, Any]], target: float) -> dict[str, Any] | None:
    """The cheapest train-front escalation reaching ``target`` quality **on train**, with its test figures."""
    for (_, q_train, _), row in zip(front, rows):
        if q_train >= target:
            return row
    return None


def share_on_hull(rows: list[dict[str, Any]], key: str, target: float, ref: float) -> float | None:
    """Fraction of ``ref`` cost at which the test hull of ``rows`` reaches ``target`` quality (as routing_quality)."""
    return cost_to_match([(r[key], r["quality"]) for r in rows], target, ref)


def plot(path: Path, title: str, curves: dict[str, list[tuple[float, float]]], singles: dict[str, tuple[float, float]]
         ) -> None:
    """Cost–quality plot: each cascade family's test front and every single model as a point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, pts in curves.items():
        xs, ys = zip(*sorted(pts))
        ax.plot(xs, ys, marker="o", ms=3, label=name)
    for name, (c, q) in singles.items():
        ax.scatter([c], [q], marker="x", color="black")
        ax.annotate(name.split("/")[-1][:24], (c, q), fontsize=6, xytext=(3, 2), textcoords="offset points")
    ax.set_xlabel("USD per query (test)")
    ax.set_ylabel("quality (test)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def table_md(rows: list[dict[str, Any]], ref_cost: float, extra: Sequence[str] = ()) -> str:
    """Markdown table of a replayed front; ``extra`` names more per-row figures to show."""
    head = "| escalation (train front) | train q | test q | test cost / GPT-4 | calls/query |" + "".join(
        f" {e} |" for e in extra)
    out = [head, "|---|---:|---:|---:|---:|" + "---:|" * len(extra)]
    for r in rows:
        cells = [r["escalation"], f"{r['train_quality']:.3f}", f"{r['quality']:.3f}", f"{r['cost'] / ref_cost:.3f}",
                 f"{r['mean_calls']:.2f}", *(f"{r[e]:.3f}" for e in extra)]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# --- RouterBench ----------------------------------------------------------------------------------------------------
def routerbench(data: Path, out: Path) -> dict[str, Any]:
    table = load_outcomes(data / "routerbench_via_routerdc")
    train, test = table.split("train"), table.split("test")
    is_mc = lambda t: t.tasks != "mbpp"  # noqa: E731
    mc_train, mc_test = train.select(is_mc(train)), test.select(is_mc(test))
    mbpp_train, mbpp_test = train.select(~is_mc(train)), test.select(~is_mc(test))
    assert train.cost is not None and test.cost is not None
    gpt4_cost = float(np.nanmean(test.cost[:, test.model_index(GPT4)]))
    cheap = [m for m in table.models if np.nanmean(train.cost[:, train.model_index(m)]) < 0.1 * np.nanmean(
        train.cost[:, train.model_index(GPT4)])]

    # MBPP: cheapest model within 2 points of the best train MBPP quality.
    acc = {m: float(np.nanmean(mbpp_train.quality[:, mbpp_train.model_index(m)])) for m in table.models}
    good = [m for m in table.models if acc[m] >= max(acc.values()) - 0.02]
    assert mbpp_train.cost is not None and mbpp_test.cost is not None
    mbpp_model = min(good, key=lambda m: float(np.nanmean(mbpp_train.cost[:, mbpp_train.model_index(m)])))
    mbpp_q = float(np.nanmean(mbpp_test.quality[:, mbpp_test.model_index(mbpp_model)]))
    mbpp_c = float(np.nanmean(mbpp_test.cost[:, mbpp_test.model_index(mbpp_model)]))

    # Candidates: up to three cheap models then GPT-4; keep a lone first answer (0.5) or not (1.0); a second answer
    # when it agrees with the first (1.0) or never (inf: wait for a third); a third when it agrees with one of the
    # two before it (0.5) or with both (1.0).
    options = {1: (0.5, 1.0), 2: (1.0, math.inf), 3: (0.5, 1.0)}
    candidates = []
    for k in (0, 1, 2, 3):
        for seq in itertools.permutations(cheap, k):
            for ths in itertools.product(*(options[i + 1] for i in range(k))):
                candidates.append(Escalation((*seq, GPT4), ths))
    conf = lambda models: builtin_confidence(mc_train, models)  # noqa: E731
    t0 = time.perf_counter()
    front = escalation_front((e, *replay(mc_train, e, conf)[:2]) for e in candidates)
    fit_s = time.perf_counter() - t0
    rows = evaluate_front(front, mc_test, lambda models: builtin_confidence(mc_test, models))
    n_mc, n_mbpp = len(mc_test), len(mbpp_test)
    gpt4_q = float(np.nanmean(test.quality[:, test.model_index(GPT4)]))
    for r in rows:
        r["overall_quality"] = (r["quality"] * n_mc + mbpp_q * n_mbpp) / (n_mc + n_mbpp)
        r["overall_cost"] = (r["cost"] * n_mc + mbpp_c * n_mbpp) / (n_mc + n_mbpp)
        r["overall_cost_share"] = r["overall_cost"] / gpt4_cost
    mc_gpt4_cost = float(np.nanmean(mc_test.cost[:, mc_test.model_index(GPT4)]))  # type: ignore[index]
    overall = [{"quality": r["overall_quality"], "cost": r["overall_cost"]} for r in rows]
    result = {
        "dataset": "routerbench_via_routerdc", "split": "test", "n_mc": n_mc, "n_mbpp": n_mbpp,
        "candidates": len(candidates), "fit_seconds": fit_s, "gpt4": {"quality": gpt4_q, "cost": gpt4_cost},
        "mbpp_model": mbpp_model, "mbpp": {"quality": mbpp_q, "cost": mbpp_c}, "front": rows,
        "overall_quality_at_25pct_gpt4_cost": hull_quality_at(overall, 0.25 * gpt4_cost),
        "overall_cost_share_to_match_gpt4": share_on_hull(overall, "cost", gpt4_q, gpt4_cost),
    }
    print(f"\n## RouterBench (ARC-Challenge + Winogrande cascades; MBPP rows → {mbpp_model})\n")
    print(f"{len(candidates)} candidate escalations, {len(front)} on the train front ({fit_s:.0f} s). "
          f"Test: GPT-4 {gpt4_q:.4f} overall at ${gpt4_cost:.2e}/query; MBPP via {mbpp_model} {mbpp_q:.3f}.\n")
    print(table_md(rows, mc_gpt4_cost, extra=("overall_quality", "overall_cost_share")))
    print(f"\nAll rows (MC cascades + MBPP): best quality at ≤ 25% of GPT-4's cost "
          f"{result['overall_quality_at_25pct_gpt4_cost']}; cost share to match GPT-4 "
          f"{result['overall_cost_share_to_match_gpt4']}")
    singles = {m: (float(np.nanmean(mc_test.cost[:, mc_test.model_index(m)])),  # type: ignore[index]
                   float(np.nanmean(mc_test.quality[:, mc_test.model_index(m)]))) for m in table.models}
    plot(out / "routerbench_mc_cost_quality.png", "RouterBench ARC + Winogrande (test): escalation cascades",
         {"agreement cascades (train front)": [(r["cost"], r["quality"]) for r in rows]}, singles)
    return result


def hull_quality_at(points: list[dict[str, float]], cost: float) -> float | None:
    """Best quality among points costing at most ``cost`` (None when none does)."""
    ok = [p["quality"] for p in points if p["cost"] <= cost]
    return max(ok) if ok else None


# --- RouteLLM GSM8K -------------------------------------------------------------------------------------------------
def routellm_gsm8k(data: Path, out: Path) -> dict[str, Any]:
    from router_plugins.scorer.response_judge import ResponseJudge

    table = load_outcomes(data / "routellm_gpt4_mixtral")
    table = table.select(table.tasks == "gsm8k")
    train, test = table.split("train"), table.split("test")
    assert train.responses is not None and test.responses is not None and test.cost is not None
    m = table.model_index(MIXTRAL)
    t0 = time.perf_counter()
    judge = ResponseJudge()
    q_tr = [str(x) for x in train.texts]
    r_tr = [str(x) for x in train.responses[:, m]]
    oof = judge.out_of_fold(MIXTRAL, q_tr, r_tr, train.quality[:, m].tolist())
    judge.fit(MIXTRAL, q_tr, r_tr, train.quality[:, m].tolist())
    test_conf = judge.confidence(MIXTRAL, [str(x) for x in test.texts], [str(x) for x in test.responses[:, m]])
    fit_s = time.perf_counter() - t0
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(test.quality[:, m] >= 0.5, test_conf))
    print(f"\n## RouteLLM GSM8K (Mixtral → GPT-4)\n\nResponseJudge fitted in {fit_s:.1f} s; test AUC {auc:.3f} "
          f"(out-of-fold train AUC {roc_auc_score(train.quality[:, m] >= 0.5, oof):.3f}).")

    def learned(split_conf: NDArray[np.float64]) -> Callable[[Sequence[str]], Confidence]:
        return lambda models: (lambda row, steps: float(split_conf[row]))

    gpt4_q = float(test.quality[:, test.model_index(GPT4)].mean())
    gpt4_cost = float(test.cost[:, test.model_index(GPT4)].mean())
    gpt4_q_train = float(train.quality[:, train.model_index(GPT4)].mean())
    results: dict[str, Any] = {"dataset": "routellm_gpt4_mixtral", "task": "gsm8k", "split": "test", "n": len(test),
                               "judge_test_auc": auc, "judge_fit_seconds": fit_s,
                               "gpt4": {"quality": gpt4_q, "cost": gpt4_cost},
                               "mixtral": {"quality": float(test.quality[:, m].mean()),
                                           "cost": float(test.cost[:, m].mean())}}
    curves = {}
    families = {
        "built-in checks": (lambda models: builtin_confidence(train, models),
                            lambda models: builtin_confidence(test, models), [0.5]),
        "ResponseJudge": (learned(oof), learned(test_conf), threshold_grid(oof, n=60)[1:-1]),
    }
    for name, (conf_train, conf_test, grid) in families.items():
        cands = [Escalation((GPT4,))] + [Escalation((MIXTRAL, GPT4), (t,)) for t in [0.0, *grid]]
        front = escalation_front((e, *replay(train, e, conf_train)[:2]) for e in cands)
        rows = evaluate_front(front, test, conf_test, gpt4_calls=True)
        target = 0.95 * gpt4_q
        chosen = operating_point(front, rows, 0.95 * gpt4_q_train)
        results[name] = {
            "front": rows,
            "cost_share_for_95pct_of_gpt4": share_on_hull(rows, "cost", target, gpt4_cost),
            "gpt4_call_share_for_95pct_of_gpt4": share_on_hull(rows, "gpt4_call_share", target, 1.0),
            "train_chosen_95pct_point": chosen,
        }
        curves[name] = [(r["cost"], r["quality"]) for r in rows]
        print(f"\n### {name}\n")
        print(table_md(rows, gpt4_cost, extra=("gpt4_call_share",)))
        print(f"\n95% of GPT-4 ({target:.4f}) on the test hull: {results[name]['cost_share_for_95pct_of_gpt4']} of "
              f"GPT-4's USD cost, {results[name]['gpt4_call_share_for_95pct_of_gpt4']} of its calls. "
              f"Train-chosen point: {json.dumps(chosen)}")
    pregen = ROOT / "results" / "scorer" / "routellm_gpt4_mixtral" / "test_gsm8k" / "report.json"
    if pregen.is_file():  # the pre-generation stack router on the same test rows (benchmarks/routing_quality.py)
        stack = json.loads(pregen.read_text())["routers"]["stack"]["points"]
        curves["stack scorer (before any call)"] = [(p["cost"], p["quality"]) for p in stack]
    singles = {MIXTRAL: (results["mixtral"]["cost"], results["mixtral"]["quality"]), GPT4: (gpt4_cost, gpt4_q)}
    plot(out / "routellm_gsm8k_cost_quality.png", "RouteLLM GSM8K (test): Mixtral → GPT-4 cascades", curves, singles)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "cascade")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, fn in (("routerbench_via_routerdc", routerbench), ("routellm_gsm8k", routellm_gsm8k)):
        result = fn(args.data_root, args.out)
        (args.out / f"{name}.json").write_text(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
