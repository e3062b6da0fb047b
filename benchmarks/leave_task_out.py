"""Leave-one-family-out routing: is the router ever worse than not routing on a task family it never saw?

For each dataset and each left-out family the stack router (prior + dc + knn + mlp, as in routing_quality.py) is
trained on the train rows of every *other* family, together with its novelty detector and shrinkage (learned inside
training by leaving training families out again — nothing here looks at the left-out family or at test labels).
Evaluated on the left-out family's **test** rows, side by side:

- the best single model chosen on the training families (what "not routing" would use),
- the family's own best single model (chosen on its test labels: a bound, not a router),
- the router at λ=0 with shrinkage and without it (ablation), and its best quality at ≤ the cost of that
  training-chosen model (λ swept; datasets with costs only), each **label-aware** (queries carry their task label:
  the left-out family's label is unseen, so the learned ``label_shrink`` applies) and **text-only** (no labels: the
  text detector alone decides),
- the novelty score's AUROC (in-distribution = test rows of the training families, novel = the left-out family),
  label-aware (an unseen label ranks above every text score) and text-only (the honest detector figure: a label makes
  the left-out family trivially separable), and the share of each flagged at the calibrated threshold 0.95
  (nominal false-positive rate 5 %).

``routerdc_7llm`` leaves out its 5 in-distribution tasks in turn (ARC-Challenge together with its partner ARC-Easy,
the other half of the same dataset: ``PARTNERS``), and its ``ood_test`` split (mbpp, humaneval_js) is evaluated with
the router trained on all train families; that same full router gives the in-distribution figures
(ID-task average, nim9 λ=0, RouterBench AIQ) with and without shrinkage. Novelty latency is timed at batch 1 on top
of the embedding, alone and right after the encoder (the deployed cost: a torch encoder slows numpy down). Writes
benchmarks/results/leave_task_out/<encoder>/{results.json,<dataset>.png}.

    HF_HUB_OFFLINE=1 python benchmarks/leave_task_out.py --encoder fast

Every router is also scored text-only with the text shrinkage the **previous rule** would have picked from the same
training folds (best mean held-out quality while the proxy's validation quality stays within 0.25 points of no
shrinkage; read from the stored grid, ``router_text_only_id_rule_*``), beside the shipped rule (no held-out training
family below not routing): the A/B of the rule alone, on the same router and detector.

``--compare-legacy`` also fits the format-1 detector (embedding + surface views only) per fold on the same rows and
reports both side by side (AUROC, flagged shares, text-only routing). ``--detector-only`` fits only the detector per
left-out family (no routers, no shrinkage) and writes its text-only AUROCs to detector_only.json: the figure for an
encoder too slow for the routing run.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from router_plugins.replay import OutcomeTable, baselines, evaluate_choices, load_outcomes  # noqa: E402
from router_plugins.scorer.encoders import CachedEncoder, make_encoder  # noqa: E402
from router_plugins.scorer.novelty import SHRINK_RAMP, NoveltyModel  # noqa: E402
from router_plugins.scorer.novelty_training import family_of  # noqa: E402
from router_plugins.scorer._novelty_views import LEGACY_VIEWS  # noqa: E402
from router_plugins.scorer.pipeline import (cost_vector, embed_table, evaluate_scorers, predictions,  # noqa: E402
                                            train_novelty, train_scorer)
from router_plugins.scorer.report import route, sweep  # noqa: E402
from router_plugins.scorer.trained_scorer import TrainedScorer  # noqa: E402
from router_plugins.scorer.training import TrainConfig  # noqa: E402

ROOT = Path(__file__).resolve().parent
ROUTERDC_ID_TASKS = ("mmlu", "gsm8k", "cmmlu", "arc_challenge", "humaneval")
#: Tasks that are partitions of one dataset, so one family: AI2's ARC is released as its Challenge and Easy sets
#: (questions that retrieval and co-occurrence solvers got wrong, and the rest), same source, same template. Leaving
#: out ARC-Challenge while training on ARC-Easy leaves out a difficulty split, not a family: the left-out fold drops
#: the partner too (from training and from the in-distribution rows), and so do the detector's own training folds
#: (``TrainConfig.novelty_groups``). ``--keep-partners`` measures the split alone.
PARTNERS = {"arc_challenge": ("arc_easy",)}
USE_TASK = {"llmrouter_nim9": True}
DATASETS = ("routerdc_7llm", "llmrouter_nim9", "routerbench_via_routerdc")


def novelty_groups(partners: dict[str, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    """The partners as ``TrainConfig.novelty_groups``: the detector's own folds leave them out together too."""
    return tuple((f, g) for g, ps in partners.items() for f in (g, *ps))


def families(table: OutcomeTable) -> np.ndarray:
    """Top-level task family of every row."""
    return np.array([family_of(str(t)) for t in table.tasks])


def folds_of(dataset: str, table: OutcomeTable) -> list[str]:
    """Left-out families: RouterDC's five ID tasks plus its ood_test split, else every family with test rows."""
    if dataset == "routerdc_7llm":
        return [*ROUTERDC_ID_TASKS, "ood_test"]
    test = table.split("test")
    return sorted(set(families(test).tolist()))


def fold_rows(g: str, fam: np.ndarray, splits: np.ndarray,
              partners: dict[str, tuple[str, ...]] = PARTNERS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, novel, in-distribution) row masks of left-out family ``g``: ``ood_test`` is novel to the router trained
    on every train family; any other family is left out of train (with its ``partners``, the other parts of the same
    dataset) and novel on its test rows."""
    out = np.isin(fam, [g, *partners.get(g, ())])
    if g == "ood_test":
        keep, novel = splits == "train", splits == "ood_test"
    else:
        keep, novel = (splits == "train") & ~out, (splits == "test") & (fam == g)
    return keep, novel, (splits == "test") & ~out


def without_shrinkage(scorer: TrainedScorer) -> TrainedScorer:
    """The same scorer with shrinkage switched off (same encoder cache, same detector)."""
    off = scorer.with_predictor(scorer.predictor)
    off.shrink = False
    return off


#: The previous text rule's constraint: the proxy's validation quality within this much of no shrinkage.
ID_TOLERANCE = 0.0025


def with_id_rule(scorer: TrainedScorer) -> TrainedScorer | None:
    """The same scorer with the text strengths the previous rule picks from its stored fold grid (None: no grid)."""
    nov = scorer.novelty
    grid = {} if nov is None else nov.info.get("shrink_objective") or {}
    base = next((v[0] for k, v in grid.items() if k.endswith(",max=0")), None)
    if nov is None or base is None:
        return None
    best: tuple[float, str] | None = None
    for key, v in grid.items():  # from less to more shrinkage; the first of equal held-out means wins
        if v[0] >= base - ID_TOLERANCE and (best is None or v[1] > best[0] + 1e-9):
            best = (v[1], key)
    assert best is not None  # no shrinkage always qualifies
    old = scorer.with_predictor(scorer.predictor)
    old.novelty = copy.copy(nov)
    strength = {name: float(value) for name, value in (p.split("=") for p in best[1].split(","))}
    old.novelty.shrink_start, old.novelty.shrink_max = strength["start"], strength["max"]
    old.novelty.shrink_ramp = strength.get("ramp", SHRINK_RAMP)
    return old


def auroc(neg: np.ndarray, pos: np.ndarray) -> float:
    """Area under the ROC curve of a score that should be higher on ``pos`` rows."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.zeros(len(neg)), np.ones(len(pos))], np.r_[neg, pos]))


def fold_figures(scorer: TrainedScorer, train: OutcomeTable, novel: OutcomeTable, ident: OutcomeTable,
                 x_novel: np.ndarray, x_ident: np.ndarray, id_rule: TrainedScorer | None = None) -> dict[str, Any]:
    """Every per-family figure of the module docstring for one left-out family (``id_rule``: the same router with
    the previous text rule's strengths, scored text-only)."""
    best_train = baselines(train)["best_single"]
    j = novel.models.index(best_train["name"])
    q_train_best, c_train_best = evaluate_choices(novel, np.full(len(novel), j))
    means = np.nanmean(novel.quality, axis=0)
    own = int(np.nanargmax(means))
    out: dict[str, Any] = {"n_test": len(novel), "best_single_on_train_families": best_train["name"],
                           "train_best_quality": q_train_best, "family_best_single": novel.models[own],
                           "family_best_quality": float(means[own])}
    for label, sc, use_task in (("router", scorer, True), ("router_no_shrink", without_shrinkage(scorer), True),
                                ("router_text_only", scorer, False),
                                ("router_text_only_no_shrink", without_shrinkage(scorer), False),
                                *((("router_text_only_id_rule", id_rule, False),) if id_rule is not None else ())):
        pred = predictions(sc, novel, use_task=use_task)
        out[f"{label}_lambda0"] = evaluate_choices(novel, route(pred, None, 0.0))[0]
        costs = cost_vector(sc, novel)
        if costs is not None and c_train_best is not None:
            pts = [p for p in sweep(pred, novel, costs) if p["cost"] <= c_train_best * (1 + 1e-9)]
            out[f"{label}_best_at_train_best_cost"] = max((p["quality"] for p in pts), default=None)
    nov = scorer.novelty
    if nov is not None:
        raw_id, raw_novel = nov.raw(x_ident, list(ident.texts)), nov.raw(x_novel, list(novel.texts))
        out["novelty_auroc"] = auroc(raw_id, raw_novel)  # text only
        out["flagged_at_0.95"] = {"in_distribution": float((nov.calibrate(raw_id) >= 0.95).mean()),
                                  "novel": float((nov.calibrate(raw_novel) >= 0.95).mean())}
        # label-aware: an unseen label is the top score, so it ranks above every text score
        unseen_id = np.array([nov.unseen_task(str(t)) is not None for t in ident.tasks])
        unseen_novel = np.array([nov.unseen_task(str(t)) is not None for t in novel.tasks])
        top = float(max(raw_id.max(), raw_novel.max())) + 1.0
        out["novelty_auroc_with_labels"] = auroc(np.where(unseen_id, top, raw_id),
                                                 np.where(unseen_novel, top, raw_novel))
        out["unseen_label_share"] = {"in_distribution": float(unseen_id.mean()), "novel": float(unseen_novel.mean())}
        out["shrink"] = {"start": nov.shrink_start, "max": nov.shrink_max, "ramp": nov.shrink_ramp,
                         "label_shrink": nov.label_shrink, "weights": list(nov.weights)}
    out["router_minus_train_best"] = out["router_lambda0"] - q_train_best
    out["router_text_only_minus_train_best"] = out["router_text_only_lambda0"] - q_train_best
    if id_rule is not None and id_rule.novelty is not None:
        out["router_text_only_id_rule_minus_train_best"] = out["router_text_only_id_rule_lambda0"] - q_train_best
        out["id_rule_shrink"] = {"start": id_rule.novelty.shrink_start, "max": id_rule.novelty.shrink_max,
                                 "ramp": id_rule.novelty.shrink_ramp}
    return out


def id_figures(dataset: str, scorer: TrainedScorer, test: OutcomeTable) -> dict[str, Any]:
    """The in-distribution figures the issue tracks, with and without shrinkage, on the test split."""
    routers = {"stack": scorer, "stack (no shrinkage)": without_shrinkage(scorer)}
    id_rule = with_id_rule(scorer)
    if id_rule is not None:
        routers["stack (previous text rule)"] = id_rule
    rep = evaluate_scorers(test, routers, split="test", text_only=tuple(routers))
    out: dict[str, Any] = {}
    for name, r in rep["routers"].items():
        fig: dict[str, Any] = {"lambda0": r["points"][0]["quality"], "aiq": r.get("aiq")}
        if dataset == "routerdc_7llm" and all(name in rep["per_task"][t] for t in ROUTERDC_ID_TASKS):
            fig["id_task_average"] = float(np.mean([rep["per_task"][t][name] for t in ROUTERDC_ID_TASKS]))
        out[name] = fig
    return out


def novelty_latency(nov: NoveltyModel | None, enc: CachedEncoder, texts: list[str], n: int = 500) -> dict[str, float]:
    """µs per query at batch 1 of the novelty score on top of a cached embedding, timed two ways: in a loop of its own
    (``novelty_*``: warm caches) and right after encoding the same query (``novelty_after_encoder_*``: as deployed,
    where a torch encoder's spinning OpenMP threads and evicted caches slow numpy down), and of the encoder itself."""
    assert nov is not None
    texts = texts[:n]
    x = enc.encode(texts)
    nov.score(x[:1], texts[:1])  # warm-up
    alone, after, enc_us = [], [], []
    for i, text in enumerate(texts):
        t0 = time.perf_counter()
        nov.score(x[i:i + 1], [text])
        alone.append((time.perf_counter() - t0) * 1e6)
    enc.encoder.encode(texts[:1])
    for i, text in enumerate(texts):
        t0 = time.perf_counter()
        enc.encoder.encode([text])
        t1 = time.perf_counter()
        nov.score(x[i:i + 1], [text])
        enc_us.append((t1 - t0) * 1e6)
        after.append((time.perf_counter() - t1) * 1e6)
    return {f"{name}_p{q}_us": float(np.percentile(values, q))
            for name, values in (("novelty", alone), ("novelty_after_encoder", after), ("encoder", enc_us))
            for q in (50, 99)}


def with_legacy_detector(scorer: TrainedScorer, x_train: np.ndarray, train: OutcomeTable,
                         cfg: TrainConfig) -> TrainedScorer:
    """The same router with the format-1 detector (embedding + surface Mahalanobis only) fitted on the same rows, its
    weights and shrinkage learned by the same folds: the A/B of the detector alone."""
    from dataclasses import replace

    old = scorer.with_predictor(scorer.predictor)
    old.novelty = train_novelty(x_train, train, replace(cfg, novelty_views=LEGACY_VIEWS))
    return old


def run(dataset: str, root: Path, encoder_spec: str, enc: CachedEncoder, members: tuple[str, ...],
        legacy: bool = False, partners: dict[str, tuple[str, ...]] = PARTNERS) -> dict[str, Any]:
    table = load_outcomes(root / dataset)
    fam, splits = families(table), table.splits.astype(str)
    x_all = embed_table(table, enc, progress=False)
    cfg = TrainConfig(kind="stack", use_task=USE_TASK.get(dataset, False), stack_members=members, progress=False,
                      novelty_groups=novelty_groups(partners))
    result: dict[str, Any] = {"folds": {}}
    full: TrainedScorer | None = None
    from tqdm import tqdm

    for g in tqdm(folds_of(dataset, table), desc=dataset):
        t0 = time.perf_counter()
        keep, novel_rows, ident_rows = fold_rows(g, fam, splits, partners)
        train = table.select(keep)
        scorer, _ = train_scorer(train, kind="stack", encoder=enc, encoder_spec=encoder_spec, config=cfg,
                                 progress=False)
        if g == "ood_test":
            full = scorer  # trained on every train family: also the in-distribution router
        figs = fold_figures(scorer, train, table.select(novel_rows), table.select(ident_rows), x_all[novel_rows],
                            x_all[ident_rows], with_id_rule(scorer))
        if legacy:
            figs["legacy"] = fold_figures(with_legacy_detector(scorer, x_all[keep], train, cfg), train,
                                          table.select(novel_rows), table.select(ident_rows), x_all[novel_rows],
                                          x_all[ident_rows])
        figs["seconds"] = round(time.perf_counter() - t0, 1)
        result["folds"][g] = figs
        print(f"{dataset} / {g}: " + json.dumps({k: (round(v, 4) if isinstance(v, float) else v)
                                                 for k, v in figs.items()}), flush=True)
    if full is None:
        full, info = train_scorer(table.split("train"), kind="stack", encoder=enc, encoder_spec=encoder_spec,
                                  config=cfg, progress=False)
    result["in_distribution"] = id_figures(dataset, full, table.split("test"))
    result["full_model_novelty"] = None if full.novelty is None else full.novelty.config()
    result["latency"] = novelty_latency(full.novelty, enc, list(table.split("test").texts))
    result["full_model_flagged_id_test_0.95"] = flagged_share(full, table.split("test"), x_all[splits == "test"])
    if legacy:
        old = with_legacy_detector(full, x_all[splits == "train"], table.split("train"), cfg)
        result["legacy_latency"] = novelty_latency(old.novelty, enc, list(table.split("test").texts))
        result["legacy_full_model_flagged_id_test_0.95"] = flagged_share(old, table.split("test"),
                                                                          x_all[splits == "test"])
    print(f"{dataset} in-distribution: {json.dumps(result['in_distribution'])}\n  latency {result['latency']}",
          flush=True)
    return result


def detector_only(dataset: str, root: Path, enc: CachedEncoder,
                  partners: dict[str, tuple[str, ...]] = PARTNERS) -> dict[str, Any]:
    """Per left-out family, the text-only novelty AUROC of the detector alone (no router, no shrinkage: no proxy
    router per fold), so a slow encoder can be compared on the detector; and the latency of the detector fitted on
    every train family."""
    table = load_outcomes(root / dataset)
    fam, splits = families(table), table.splits.astype(str)
    x_all = embed_table(table, enc, progress=False)
    cfg = TrainConfig(kind="stack", novelty_proxy=(), progress=False, novelty_groups=novelty_groups(partners))
    folds: dict[str, Any] = {}
    for g in folds_of(dataset, table):
        keep, novel, ident = fold_rows(g, fam, splits, partners)
        nov = train_novelty(x_all[keep], table.select(keep), cfg)
        assert nov is not None
        raw = {name: nov.raw(x_all[rows], [table.texts[i] for i in np.flatnonzero(rows)])
               for name, rows in (("ident", ident), ("novel", novel))}
        folds[g] = {"novelty_auroc": auroc(raw["ident"], raw["novel"]), "views": list(nov.views)}
        print(f"{dataset} / {g}: text-only AUROC {folds[g]['novelty_auroc']:.3f}", flush=True)
    mean = float(np.mean([f["novelty_auroc"] for f in folds.values()]))
    train = splits == "train"
    full = train_novelty(x_all[train], table.select(train), cfg)  # on every train family, as the routing run's
    latency = novelty_latency(full, enc, list(table.split("test").texts))
    print(f"{dataset}: mean text-only AUROC {mean:.3f} (detector only); full detector {latency}", flush=True)
    return {"folds": folds, "mean_novelty_auroc": mean, "detector_only": True, "latency": latency,
            "full_views": None if full is None else list(full.views)}


def flagged_share(scorer: TrainedScorer, test: OutcomeTable, x: np.ndarray) -> float | None:
    """Share of the in-distribution test queries whose text score reaches 0.95 (nominal 5 %)."""
    nov = scorer.novelty
    return None if nov is None else float((nov.score(x, list(test.texts)) >= 0.95).mean())


def plot(dataset: str, res: dict[str, Any], path: Path) -> None:
    """Bars per left-out family: training-chosen single model, family's own best, router with/without shrinkage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(res["folds"])
    series = [("train-chosen single", "train_best_quality"), ("family's own best (bound)", "family_best_quality"),
              ("router λ=0, text only", "router_text_only_lambda0"),
              ("router λ=0, labels, no shrinkage", "router_no_shrink_lambda0"),
              ("router λ=0, labels (unseen label shrinks)", "router_lambda0")]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names)), 4))
    width = 0.8 / len(series)
    for k, (label, key) in enumerate(series):
        ax.bar(np.arange(len(names)) + k * width, [res["folds"][n][key] for n in names], width, label=label)
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=30, ha="right")
    ax.set_ylabel("test quality on the left-out family")
    ax.set_title(f"{dataset}: leave one task family out")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(dataset: str, res: dict[str, Any]) -> str:
    """The per-family table of RESULTS.md: label-aware and text-only router, both AUROCs."""
    def q(v: float | None) -> str:
        return "—" if v is None else f"{v:.3f}"

    rows = [f"\n#### {dataset}\n",
            ("| left-out family (n) | train-chosen single | family's own best | label-aware λ=0 (no shrink) | Δ | "
             "text-only λ=0 (no shrink) | Δ | q at ≤ its cost, label / text | AUROC label / text | "
             "flagged ID / novel @0.95 (text) |"),
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for g, f in res["folds"].items():
        fl = f.get("flagged_at_0.95", {})
        nan = float("nan")
        rows.append(f"| {g} ({f['n_test']}) | {f['best_single_on_train_families'].split('/')[-1]} "
                    f"{f['train_best_quality']:.3f} | {f['family_best_single'].split('/')[-1]} "
                    f"{f['family_best_quality']:.3f} | {f['router_lambda0']:.3f} ({f['router_no_shrink_lambda0']:.3f})"
                    f" | {100 * f['router_minus_train_best']:+.1f} | {f['router_text_only_lambda0']:.3f} "
                    f"({f['router_text_only_no_shrink_lambda0']:.3f}) | "
                    f"{100 * f['router_text_only_minus_train_best']:+.1f} | "
                    f"{q(f.get('router_best_at_train_best_cost'))} / "
                    f"{q(f.get('router_text_only_best_at_train_best_cost'))} | "
                    f"{f.get('novelty_auroc_with_labels', nan):.3f} / {f.get('novelty_auroc', nan):.3f} | "
                    f"{fl.get('in_distribution', nan):.2f} / {fl.get('novel', nan):.2f} |")
    return "\n".join(rows)


def summary(res: dict[str, Any]) -> str:
    """How many left-out families each router keeps within 0.5 points of the train-chosen model, mean AUROCs."""
    folds = res["folds"].values()
    lines = []
    for key, name in (("router_minus_train_best", "label-aware"), ("router_text_only_minus_train_best", "text-only")):
        ok = sum(f[key] >= -0.005 for f in folds)
        worst = min(f[key] for f in folds)
        lines.append(f"{name}: {ok}/{len(folds)} within 0.5 points of the train-chosen single "
                     f"(worst {100 * worst:+.1f})")
    for key, name in (("novelty_auroc_with_labels", "label-aware"), ("novelty_auroc", "text-only")):
        values = [f[key] for f in folds if key in f]
        if values:
            lines.append(f"mean novelty AUROC {name} {np.mean(values):.3f}")
    return "; ".join(lines)


def rule_markdown(dataset: str, res: dict[str, Any]) -> str:
    """Previous text rule vs the shipped one, text-only, per left-out family: Δ and learned strengths."""
    rows = [f"\n#### {dataset}: text shrinkage rule, previous (ID within 0.25) vs never-worse, text-only\n",
            "| left-out family | text-only λ=0 Δ previous / new (points) | text (start, max) previous / new |",
            "|---|---:|---:|"]
    for g, f in res["folds"].items():
        if "id_rule_shrink" not in f:
            continue
        o, n = f["id_rule_shrink"], f["shrink"]
        rows.append(f"| {g} | {100 * f['router_text_only_id_rule_minus_train_best']:+.1f} / "
                    f"{100 * f['router_text_only_minus_train_best']:+.1f} | ({o['start']:g}, {o['max']:g}) / "
                    f"({n['start']:g}, {n['max']:g}) |")
    return "\n".join(rows)


def legacy_markdown(dataset: str, res: dict[str, Any]) -> str:
    """Old (format-1, two views) vs new detector, text-only, per left-out family."""
    rows = [f"\n#### {dataset}: format-1 detector (emb + surf) vs the new one (all views), text-only\n",
            "| left-out family | AUROC old / new | flagged novel @0.95 old / new | text-only λ=0 Δ old / new (points) |",
            "|---|---:|---:|---:|"]
    for g, f in res["folds"].items():
        o = f.get("legacy")
        if o is None:
            continue
        rows.append(f"| {g} | {o['novelty_auroc']:.3f} / {f['novelty_auroc']:.3f} | "
                    f"{o['flagged_at_0.95']['novel']:.2f} / {f['flagged_at_0.95']['novel']:.2f} | "
                    f"{100 * o['router_text_only_minus_train_best']:+.1f} / "
                    f"{100 * f['router_text_only_minus_train_best']:+.1f} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parents[1] / "shared" / "data")
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--encoder", default="fast")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "leave_task_out")
    ap.add_argument("--members", nargs="+", default=["prior", "dc", "knn", "mlp"],
                    help="stack members of the router (fewer = faster: 'prior knn mlp' skips the torch dc head)")
    ap.add_argument("--compare-legacy", action="store_true",
                    help="also fit the format-1 detector (embedding + surface views only) per fold, side by side")
    ap.add_argument("--detector-only", action="store_true",
                    help="only the novelty detector's text-only AUROC per left-out family (no routers; for slow "
                         "encoders); writes detector_only.json")
    ap.add_argument("--keep-partners", action="store_true",
                    help="leave out a family alone, its partners (PARTNERS: other parts of the same dataset) kept in "
                         "training: e.g. ARC-Challenge with ARC-Easy trained on")
    args = ap.parse_args()
    partners = {} if args.keep_partners else PARTNERS
    enc = CachedEncoder(make_encoder(args.encoder))
    out = args.out / args.encoder
    out.mkdir(parents=True, exist_ok=True)
    if args.detector_only:
        found = {ds: detector_only(ds, args.data_root, enc, partners) for ds in args.datasets}
        (out / "detector_only.json").write_text(json.dumps(found, indent=2))
        return
    path = out / "results.json"
    # datasets run separately accumulate in one file (a rerun of a dataset replaces its entry)
    results: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    for ds in args.datasets:
        t0 = time.perf_counter()
        results[ds] = run(ds, args.data_root, args.encoder, enc, tuple(args.members), args.compare_legacy,
                          partners)
        results[ds]["stack_members"] = list(args.members)
        results[ds]["seconds"] = round(time.perf_counter() - t0, 1)
        plot(ds, results[ds], out / f"{ds}.png")
        path.write_text(json.dumps(results, indent=2, default=float))
    for ds, res in results.items():
        print(markdown(ds, res))
        print("\n" + summary(res))
        if any("id_rule_shrink" in f for f in res["folds"].values()):
            print(rule_markdown(ds, res))
            ok = sum(f["router_text_only_id_rule_minus_train_best"] >= -0.005 for f in res["folds"].values())
            print(f"previous text rule: text-only {ok}/{len(res['folds'])} within 0.5 points")
        if any("legacy" in f for f in res["folds"].values()):
            print(legacy_markdown(ds, res))
            print("format-1 detector: " + summary({"folds": {g: f["legacy"] for g, f in res["folds"].items()}}))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
