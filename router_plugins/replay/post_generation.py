"""Post-generation routers replayed exactly from recorded answers: single model, plurality vote of k distinct models,
and consensus early-stopping cascades (call cheap models one by one, keep an answer once ``need`` of them agree,
escalate to the strongest model once no answer can reach ``need``). ``need`` equal to the number of cheap models is an
agreement cascade; fewer stops on a partial majority (DyLAN-style consensus early stopping).

Answers are compared by their extracted final answer (an option letter, else the final number); tasks whose
train answers mostly have neither (free text) cannot be compared and go to their best train model. Modes are
chosen per task on **train** (best quality − λ·cost at each λ) and replayed on the evaluated rows; ``eval`` reports
them beside the pre-generation routers. An outcome the data does not record counts as wrong (0) in a replay, so use
data where every model answered every row (RouterBench, RouteLLM GSM8K) for figures.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.judges import extract_choice, extract_number
from router_plugins.replay._metrics import bootstrap_ci
from router_plugins.replay._table import OutcomeTable
from router_plugins.replay.judge_cascade import JudgeFactory, judge_cascades

__all__ = ["Mode", "answer_keys", "candidate_modes", "comparable_tasks", "describe", "format_post_generation",
           "post_generation_report", "replay_mode"]

#: (kind, model columns in call order, votes needed, escalation column or -1)
Mode = tuple[str, tuple[int, ...], int, int]
#: A task's answers are comparable when at least this share of its train responses yields a final answer.
MIN_PARSED = 0.8
#: Cheap = mean train cost below this share of the strongest model's; at most MAX_SET of them per mode.
CHEAP_SHARE, MAX_SET = 0.15, 4
#: Cost caps (shares of the reference's train cost) at which modes are also chosen on train under the cap.
CAPS = tuple(round(0.05 * k, 2) for k in range(2, 21))


def answer_keys(table: OutcomeTable) -> NDArray[np.int64]:
    """(n, m) integer key of each recorded answer (equal keys = same final answer); unreadable answers get a key of
    their own so they never agree with anything."""
    if table.responses is None:
        raise ValueError(f"{table.name}: records no responses")
    codes: dict[str, int] = {}
    out = np.zeros(table.quality.shape, dtype=np.int64)
    for (i, j), response in np.ndenumerate(table.responses):
        text = str(response) if response is not None else ""
        answer = extract_choice(text) or extract_number(text)
        out[i, j] = codes.setdefault(answer, len(codes)) if answer else -(1 + i * table.quality.shape[1] + j)
    return out


def comparable_tasks(train: OutcomeTable, keys: NDArray[np.int64]) -> set[str]:
    """Tasks whose train answers yield a final answer often enough (≥ MIN_PARSED) to compare models' answers."""
    return {str(t) for t in set(train.tasks.tolist()) if float(np.mean(keys[train.tasks == t] >= 0)) >= MIN_PARSED}


def _plurality(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """Per row, the position of the first answer with the most votes."""
    votes = (keys[:, :, None] == keys[:, None, :]).sum(1)
    return np.argmax(votes == votes.max(1)[:, None], axis=1)


def replay_mode(table: OutcomeTable, keys: NDArray[np.int64], mode: Mode
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-row quality and cost of one mode, exactly as the recorded answers play out."""
    kind, seq, need, final = mode
    q_all = np.nan_to_num(table.quality)
    c_all = np.zeros_like(q_all) if table.cost is None else np.nan_to_num(table.cost)
    rows = np.arange(len(table))
    cols = np.array(seq)
    if kind == "single":
        return q_all[:, seq[0]], c_all[:, seq[0]]
    seen = keys[:, cols]
    if kind == "vote":
        return q_all[rows, cols[_plurality(seen)]], c_all[:, cols].sum(1)
    quality, cost = np.zeros(len(table)), np.zeros(len(table))
    open_rows = np.ones(len(table), dtype=bool)
    escalate = np.zeros(len(table), dtype=bool)
    for step, j in enumerate(seq):
        cost[open_rows] += c_all[open_rows, j]
        votes = (seen[:, : step + 1, None] == seen[:, None, : step + 1]).sum(1)
        top = votes.max(1)
        hit = open_rows & (top >= need)
        first = np.argmax(votes == top[:, None], axis=1)
        quality[hit] = q_all[hit, cols[first[hit]]]
        give_up = open_rows & ~hit & (top + len(seq) - step - 1 < need)
        escalate |= give_up
        open_rows &= ~hit & ~give_up
    escalate |= open_rows
    quality[escalate] = q_all[escalate, final]
    cost[escalate] += c_all[escalate, final]
    return quality, cost


def candidate_modes(train: OutcomeTable) -> list[Mode]:
    """Every single model, plurality votes of 3 distinct cheap models, and consensus cascades over up to MAX_SET
    cheap models (cheapest first) escalating to the strongest train model."""
    q = np.nanmean(train.quality, axis=0)
    c = np.nanmean(train.cost, axis=0) if train.cost is not None else np.zeros(len(train.models))
    strong, cheap = _strong_and_cheap(train)
    cheap.sort(key=lambda j: c[j])
    modes: list[Mode] = [("single", (j,), 1, -1) for j in range(len(q))]
    by_quality = sorted(cheap, key=lambda j: -q[j])
    modes += [("vote", s, 0, -1) for s in itertools.combinations(by_quality, 3)]
    for k in range(1, MAX_SET + 1):
        for s in itertools.combinations(cheap, k):
            modes += [("consensus", s, need, strong) for need in range(k // 2 + 1, k + 1)]
    return modes


def describe(table: OutcomeTable, mode: Mode) -> str:
    """A readable name: 'vote(a, b, c)', 'a → b (agree 2) → strong', 'single a'."""
    kind, seq, need, final = mode
    names = [table.models[j].split("/")[-1] for j in seq]
    if kind == "single":
        return f"single {names[0]}"
    if kind == "vote":
        return f"vote({', '.join(names)})"
    return f"{' → '.join(names)} (keep at {need} agreeing) → {table.models[final].split('/')[-1]}"


#: Per task: candidate names, mean train quality and cost, and each one's replay on the task's evaluated rows.
_Candidates = tuple[list[str], NDArray[np.float64], NDArray[np.float64],
                    list[Callable[[], tuple[NDArray[np.float64], NDArray[np.float64]]]]]


def post_generation_report(train: OutcomeTable, rows: OutcomeTable, reference: str, *, n_lambda: int = 40,
                           judge: JudgeFactory | None = None) -> dict[str, Any]:
    """Per query, the mode its task gets: at each λ every task takes the candidate with the highest train quality −
    λ·cost on its own train rows (single models only where answers are not comparable), replayed on ``rows``; each λ
    point with its 95 % paired-bootstrap difference to always using ``reference``. With ``judge`` (a factory fitting
    a response judge, e.g. ``router_plugins.scorer.response_judge.JudgeFitter()``) trained-judge cascades join the
    candidates of every task whose cheap models recorded answers; ``judge_cascade`` then holds the front of single
    models and judge cascades alone, and ``without_judge`` the front without them."""
    keys_train, keys_rows = answer_keys(train), answer_keys(rows)
    ok_tasks = comparable_tasks(train, keys_train)
    singles: list[Mode] = [("single", (j,), 1, -1) for j in range(len(train.models))]
    per_task: dict[str, _Candidates] = {}
    judged: dict[str, _Candidates] = {}
    for task in sorted(set(rows.tasks.tolist())):
        on_train = _train_rows(train, task)
        sub, on_rows = train.select(on_train), rows.tasks == task
        sub_rows, rows_keys = rows.select(on_rows), keys_rows[on_rows]
        modes = candidate_modes(sub) if task in ok_tasks else singles
        stats = np.array([[float(v.mean()) for v in replay_mode(sub, keys_train[on_train], m)] for m in modes])
        per_task[task] = ([describe(rows, m) for m in modes], stats[:, 0], stats[:, 1],
                          [functools.partial(replay_mode, sub_rows, rows_keys, m) for m in modes])
        if judge is not None:
            strong, cheap = _strong_and_cheap(sub)
            found = judge_cascades(judge, sub, sub_rows, cheap, strong)
            judged[task] = ([c.describe(rows.models) for c, *_ in found], np.array([f[1] for f in found]),
                            np.array([f[2] for f in found]), [f[3] for f in found])
    ref = rows.model_index(reference)
    q_ref = np.nan_to_num(rows.quality[:, ref])
    c_ref = float(np.nanmean(rows.cost[:, ref])) if rows.cost is not None else 0.0
    grid = [0.0, *(np.geomspace(1e-3, 1e3, n_lambda - 1) / max(c_ref, 1e-30)).tolist()]
    report: dict[str, Any] = {"reference": reference, "comparable_tasks": sorted(ok_tasks),
                              "candidates": {t: len(v[0]) for t, v in per_task.items()}}
    if judge is None:
        report["points"] = _front(per_task, rows, q_ref, c_ref, grid)
        report["points_at_caps"] = _at_caps(per_task, train, rows, reference, q_ref, c_ref)
    else:
        merged = {t: _merge(v, judged[t]) for t, v in per_task.items()}
        report["points_at_caps"] = _at_caps(merged, train, rows, reference, q_ref, c_ref)
        only = {t: _merge(_subset(v, [n.startswith("single ") for n in v[0]]), judged[t]) for t, v in per_task.items()}
        report["points"] = _front(merged, rows, q_ref, c_ref, grid)
        report["without_judge"] = {"points": _front(per_task, rows, q_ref, c_ref, grid)}
        report["judge_cascade"] = {"points": _front(only, rows, q_ref, c_ref, grid),
                                   "candidates": {t: len(v[0]) for t, v in judged.items()}}
        report["candidates"] = {t: len(v[0]) for t, v in merged.items()}
    report["note"] = ("per task, the mode with the best train quality − λ·cost (Pareto over λ), replayed exactly on "
                      "these rows from the recorded answers" + ("; judge cascades chosen on out-of-fold train "
                                                                "confidences" if judge is not None else ""))
    return report


def _train_rows(train: OutcomeTable, task: str) -> NDArray[np.bool_]:
    """The train rows that judge candidates for ``task``: its own, or all of train for a task train never saw."""
    rows = train.tasks == task
    return rows if rows.any() else np.ones(len(train), dtype=bool)


def _strong_and_cheap(train: OutcomeTable) -> tuple[int, list[int]]:
    """The strongest train model and the cheap ones (mean cost below CHEAP_SHARE of its)."""
    q = np.nanmean(train.quality, axis=0)
    c = np.nanmean(train.cost, axis=0) if train.cost is not None else np.zeros(len(train.models))
    strong = int(np.nanargmax(q))
    return strong, [j for j in range(len(q)) if j != strong and c[j] < CHEAP_SHARE * c[strong]]


def _merge(a: _Candidates, b: _Candidates) -> _Candidates:
    """Both candidate lists of one task, ``a``'s first."""
    return a[0] + b[0], np.concatenate([a[1], b[1]]), np.concatenate([a[2], b[2]]), a[3] + b[3]


def _subset(a: _Candidates, keep: list[bool]) -> _Candidates:
    """The candidates of one task where ``keep`` is true."""
    idx = np.flatnonzero(keep)
    return [a[0][i] for i in idx], a[1][idx], a[2][idx], [a[3][i] for i in idx]


def _front(per_task: dict[str, _Candidates], rows: OutcomeTable, q_ref: NDArray[np.float64], c_ref: float,
           grid: list[float]) -> list[dict[str, Any]]:
    """One point per distinct set of per-task choices over the λ grid, replayed on ``rows``, sorted by cost."""
    points: list[dict[str, Any]] = []
    seen: set[tuple[int, ...]] = set()
    for lam in grid:
        picks = tuple(int(np.argmax(q - lam * c - 1e-12 * c)) for _, q, c, _ in per_task.values())
        if picks not in seen:
            seen.add(picks)
            points.append({"lambda": lam, **_replayed(per_task, rows, picks, q_ref, c_ref)})
    points.sort(key=lambda p: p["cost"])
    return points


def _at_caps(per_task: dict[str, _Candidates], train: OutcomeTable, rows: OutcomeTable, reference: str,
             q_ref: NDArray[np.float64], c_ref: float) -> list[dict[str, Any]]:
    """At each of ``CAPS``, the per-task modes of best train quality whose train cost fits the cap (a share of the
    reference's train cost; tasks weighted by their share of ``rows``), replayed on ``rows``. An exact
    multiple-choice knapsack over the tasks' train fronts: it fills the gaps a common λ leaves between corners."""
    if train.cost is None or not per_task:
        return []
    ref, states = train.model_index(reference), [(0.0, 0.0, ())]  # (train cost, train quality, picks)
    ref_cost = 0.0
    for task, (_, q, c, _) in per_task.items():
        on_train = _train_rows(train, task)
        w = float((rows.tasks == task).mean())
        ref_cost += w * float(np.nanmean(train.cost[on_train, ref]))
        grown = sorted(((sc + w * float(c[k]), sq + w * float(q[k]), (*sp, k)) for sc, sq, sp in states
                        for k in range(len(q))), key=lambda s: (s[0], -s[1]))
        states, best = [], -np.inf
        for state in grown:  # keep the train Pareto front only
            if state[1] > best + 1e-12:
                states.append(state)
                best = state[1]
    points: list[dict[str, Any]] = []
    seen: set[tuple[int, ...]] = set()
    for cap in CAPS:
        fits = [s for s in states if s[0] <= cap * ref_cost * (1 + 1e-9)]
        if fits and fits[-1][2] not in seen:  # the front is sorted by cost, so the last that fits is the best
            cost, quality, picks = fits[-1]
            seen.add(picks)
            points.append({"lambda": None, "cap": cap, "train_quality": quality, "train_cost_share": cost / ref_cost,
                           **_replayed(per_task, rows, picks, q_ref, c_ref)})
    return points


def _replayed(per_task: dict[str, _Candidates], rows: OutcomeTable, picks: tuple[int, ...],
              q_ref: NDArray[np.float64], c_ref: float) -> dict[str, Any]:
    """One set of per-task choices replayed on ``rows``: quality, cost, modes and the paired difference to the
    reference."""
    q, c = np.zeros(len(rows)), np.zeros(len(rows))
    chosen = {}
    for (task, (names, _, _, replays)), k in zip(per_task.items(), picks):
        on_rows = rows.tasks == task
        q[on_rows], c[on_rows] = replays[k]()
        chosen[task] = names[k]
    lo, hi = bootstrap_ci(q - q_ref)
    return {"quality": float(q.mean()), "cost": float(c.mean()),
            "cost_share": float(c.mean()) / c_ref if c_ref else None, "modes": chosen,
            "vs_reference": {"diff": float((q - q_ref).mean()), "ci95": [lo, hi]}}


def format_post_generation(report: dict[str, Any]) -> str:
    """Plain-text table of ``post_generation_report`` (one line per distinct λ point; modes per task below it), then
    the front of trained-judge cascades alone when the report has one."""
    lines = [(f"post-generation routers (per-task mode chosen on train, replayed; reference {report['reference']}; "
              f"answers compared on {', '.join(report['comparable_tasks']) or 'no task'}"
              f"{'; judge cascades included' if 'judge_cascade' in report else ''})")]
    lines += _point_lines(report["points"])
    if report.get("points_at_caps"):
        lines += ["", "the same, chosen on train under a cost cap (a share of the reference's train cost)",
                  *_point_lines(report["points_at_caps"])]
    if "judge_cascade" in report:
        title = "trained-judge cascades alone (single models + judge cascades; thresholds chosen on out-of-fold train " \
                "confidences)"
        lines += ["", title, *_point_lines(report["judge_cascade"]["points"])]
    return "\n".join(lines)


def _point_lines(points: list[dict[str, Any]]) -> list[str]:
    capped = bool(points) and points[0]["lambda"] is None
    lines = [f"{'train cap' if capped else 'λ·ref cost':>11}{'quality':>9}{'cost/ref':>10}{'Δ vs ref [95 % paired CI]':>34}"]
    for p in points:
        d = p["vs_reference"]
        share = "" if p["cost_share"] is None else f"{p['cost_share']:.3f}"
        lam = p["cap"] if capped else p["lambda"] * (p["cost"] / p["cost_share"] if p["cost_share"] else 1.0)
        lines.append(f"{lam:>11.3g}{p['quality']:>9.4f}{share:>10}{d['diff']:>+12.4f} [{d['ci95'][0]:+.4f}, "
                     f"{d['ci95'][1]:+.4f}]")
        lines.extend(f"{'':>13}{task}: {mode}" for task, mode in p["modes"].items())
    return lines
