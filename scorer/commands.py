"""CLI commands of the scorer: ``train``, ``eval``, ``onboard`` and ``train-judge`` (click; added to the CLI by
scorer/plugin.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click
from router_plugins.scorer.crossval import CV_FOLDS
from router_plugins.scorer.predictors import KINDS

from router_plugins._json import dumps
from router_plugins.replay import NO_SPLIT

ENCODER_HELP = "query encoder: 'minilm' (default, all-MiniLM-L6-v2), 'fast' (static, distilled from it) or a folder"
RAY_HELP = ("embed on Ray (eval: also its λ sweeps and bootstrap): --ray alone starts a local Ray on this machine's "
            "cores, --ray ADDRESS joins that cluster; needs the [ray] extra. Same results as without")


#: Fewer rows than this in a split give figures too noisy to act on; train and eval say so.
MIN_ROWS_ADVISED = 100


def _load(data: str) -> Any:
    from router_plugins.replay import load_outcomes

    return load_outcomes(data)


def _warn_small(rows: Any, what: str) -> None:
    """One warning line on stderr when a split is too small for its figures to mean much."""
    if len(rows) < MIN_ROWS_ADVISED:
        click.echo(f"warning: {what} has {len(rows)} rows (< {MIN_ROWS_ADVISED}); its quality and cost figures are "
                   "noisy, see README section 'Outcome data formats'", err=True)


def _ray_job(address: str | None) -> Any:
    """The Ray job of ``--ray`` (Ray imported only then), else a context that yields None."""
    if address is None:
        from contextlib import nullcontext

        return nullcontext(None)
    from router_plugins.scorer.ray_backend import ray_job

    return ray_job(address)


def _train_rows(table: Any) -> Any:
    """The train split, or every row when the data records no split (then eval cross-validates instead)."""
    from router_plugins.scorer.pipeline import check_train_rows

    if not table.has_split:
        check_train_rows(table)
        return table
    if "train" not in set(table.splits.tolist()):
        from router_plugins.errors import DataError

        raise DataError(f"{table.name}: no row has split 'train' (splits: {sorted(set(table.splits.tolist()))}); "
                        "mark training rows split=train, or drop the split column to train on every row "
                        "(README section 'Outcome data formats')")
    train = table.split("train")
    check_train_rows(train)
    return train


@click.command("train")
@click.option("--data", required=True, type=click.Path(exists=True), help="outcome folder or CSV (its train split)")
@click.option("--out", required=True, type=click.Path(), help="checkpoint folder to write")
@click.option("--scorer", "kind", type=click.Choice(KINDS), default="dc", show_default=True)
@click.option("--encoder", default="minilm", show_default=True, help=ENCODER_HELP)
@click.option("--use-task/--no-use-task", default=False, show_default=True,
              help="also feed the query's task name (trained with task dropout so text alone still works)")
@click.option("--epochs", type=int, default=None, help="maximum epochs (dc/mf; early stopping on a validation slice)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--novelty/--no-novelty", default=None,
              help="fit the novelty detector, which embeds every train text [default: on, except for --scorer prior, "
                   "which reads no text and so embeds nothing unless --novelty is given]")
@click.option("--finetune-encoder", "finetune_epochs", type=int, default=0, show_default=True,
              help="first fine-tune the transformer encoder for up to N epochs on the routing losses (slow on CPU); "
                   "it is saved in OUT/encoder and the router trains on its embeddings")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help=RAY_HELP)
def train_command(data: str, out: str, kind: str, encoder: str, use_task: bool, epochs: int | None, seed: int,
                  novelty: bool | None, finetune_epochs: int, ray_address: str | None) -> None:
    """Train a router on the train split of DATA; writes safetensors + config.json to OUT."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from router_plugins.scorer.encoders import make_encoder
    from router_plugins.scorer.pipeline import train_scorer
    from router_plugins.scorer.training import TrainConfig

    train = _train_rows(_load(data))
    _warn_small(train, "the train split" if train.has_split else "the data (no split column: all rows)")
    if novelty is None:
        novelty = kind != "prior"  # the per-task prior never reads the text: embedding it only for novelty is opt-in
    cfg = TrainConfig(kind=kind, use_task=use_task, seed=seed, novelty=novelty, **({"epochs": epochs} if epochs else {}))
    enc, spec = None, encoder
    if finetune_epochs > 0:
        from router_plugins.scorer.finetune import FinetuneConfig, finetune_encoder

        if encoder == "fast":
            raise click.BadParameter("only a transformer encoder can be fine-tuned, not 'fast'", param_hint="--encoder")
        base = None if encoder in ("minilm", "default") else encoder
        tuned = finetune_encoder(train, Path(out) / "encoder", base=base,
                                 config=FinetuneConfig(epochs=finetune_epochs, seed=seed))
        click.echo(f"fine-tuned the encoder in {tuned['seconds']}s (best epoch {tuned['best_epoch']}, val BCE by "
                   f"epoch {[round(v, 4) for v in tuned['val_bce_by_epoch']]}) → {Path(out) / 'encoder'}")
        enc, spec = make_encoder(Path(out) / "encoder"), "encoder"  # stored relative to the checkpoint
    elif encoder not in ("minilm", "default", "fast"):
        # a checkpoint is self-contained: it may only name an encoder inside itself (issue 12.8)
        import shutil

        shutil.copytree(encoder, Path(out) / "encoder", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.bin", "*.pt", "*.pth", "*.pkl", "*.ckpt", "*.py", "__pycache__"))
        enc, spec = make_encoder(Path(out) / "encoder"), "encoder"
    job = click.get_current_context().with_resource(_ray_job(ray_address))  # stopped when the command ends
    if job is not None:
        enc = job.encoder(enc or make_encoder(spec))
    scorer, info = train_scorer(train, kind=kind, encoder=enc, encoder_spec=spec, config=cfg)
    path = scorer.save(out)
    click.echo(f"trained {kind} on {train.name} train ({len(train)} queries, {len(train.models)} models) in "
               f"{info['seconds']:.1f}s (+{info['embed_seconds']:.1f}s embedding) → {path}")


@click.command("eval")
@click.option("--data", required=True, type=click.Path(exists=True), help="outcome folder or CSV")
@click.option("--checkpoint", "checkpoints", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="checkpoint(s) to evaluate; without one, every router kind is trained on DATA's train split first")
@click.option("--split", default="test", show_default=True,
              help="rows to evaluate; data without a split column (or --split cv5) is cross-validated in 5 folds")
@click.option("--out", required=True, type=click.Path(), help="folder for report.json and cost_quality.png")
@click.option("--scorers", default=",".join(KINDS), show_default=True, help="kinds to train when no checkpoint")
@click.option("--encoder", default="minilm", show_default=True, help=ENCODER_HELP)
@click.option("--use-task/--no-use-task", default=False, show_default=True, help="dc uses the query's task name")
@click.option("--task", "tasks", multiple=True,
              help="only rows of this task or task family ('mmlu' covers 'mmlu/*'; repeatable)")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help=RAY_HELP)
def eval_command(data: str, checkpoints: tuple[str, ...], split: str, out: str, scorers: str, encoder: str,
                 use_task: bool, tasks: tuple[str, ...], ray_address: str | None) -> None:
    """Replay routers on SPLIT of DATA next to random, best single, most expensive and oracle; print a table. DATA
    without a split column is cross-validated (5 folds stratified by task; out-of-fold points over every row)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from router_plugins.scorer.encoders import CachedEncoder, make_encoder
    from router_plugins.scorer.pipeline import evaluate_scorers, train_scorer
    from router_plugins.scorer.trained_scorer import TrainedScorer
    from router_plugins.scorer.training import TrainConfig

    table = _load(data)
    if tasks:
        import numpy as np

        table = table.select(np.array([t in tasks or t.split("/")[0] in tasks for t in table.tasks.tolist()]))
        if not len(table):
            raise click.BadParameter(f"no rows of tasks {list(tasks)} in {data}", param_hint="--task")
    kinds = [k.strip() for k in scorers.split(",") if k.strip()]
    for kind in kinds:
        if kind not in KINDS:
            raise click.BadParameter(f"unknown scorer {kind!r}; choose from {KINDS}", param_hint="--scorers")
    extra = {"checkpoints": list(checkpoints) or None, "encoder": encoder}
    job = click.get_current_context().with_resource(_ray_job(ray_address))  # stopped when the command ends

    def cached(spec: str) -> CachedEncoder:
        return CachedEncoder(make_encoder(spec)) if job is None else job.encoder(make_encoder(spec))

    backend = None if job is None else job.backend
    if not checkpoints and (split == f"cv{CV_FOLDS}" or not table.has_split):
        from router_plugins.scorer.crossval import cross_validate

        _warn_small(table, f"the data ({CV_FOLDS}-fold cross-validation over all rows)")
        _write_report(cross_validate(table, kinds, cached(encoder), encoder_spec=encoder, use_task=use_task,
                                     extra=extra, backend=backend), out)
        return
    rows = table.split(split if table.has_split else NO_SPLIT)
    routers: dict[str, TrainedScorer] = {}
    seconds: dict[str, float] = {}
    if checkpoints:
        for ckpt in checkpoints:
            scorer = TrainedScorer.load(ckpt)
            if job is not None:
                scorer.encoder = job.encoder(scorer.encoder, persist=False)  # as loaded: an in-memory cache
            name = scorer.predictor.kind if scorer.predictor.kind not in routers else Path(ckpt).name
            routers[name] = scorer
    else:
        train = _train_rows(table)
        _warn_small(train, "the train split")
        enc = cached(encoder)
        for kind in kinds:
            t0 = time.perf_counter()
            routers[kind], _ = train_scorer(train, kind=kind, encoder=enc, encoder_spec=encoder,
                                            config=TrainConfig(kind=kind, use_task=use_task))
            seconds[kind] = time.perf_counter() - t0
    _warn_small(rows, f"split {split!r}" if table.has_split else "the data (no split column: all rows)")
    text_only = [n for n, s in routers.items() if s.predictor.config.get("use_task")]
    report = evaluate_scorers(rows, routers, split=split if table.has_split else NO_SPLIT, text_only=text_only,
                              extra={"train_seconds": seconds or None, **extra}, backend=backend)
    if table.responses is not None and table.has_split and split != "train" and "train" in set(table.splits.tolist()):
        # post-generation routers (votes, consensus and trained-judge cascades) read the recorded answers: chosen on
        # train, replayed here; the judge is injected because the kernel's replay does not import the scorer
        from router_plugins.scorer.response_judge import JudgeFitter

        from router_plugins.replay.post_generation import post_generation_report

        report["post_generation"] = post_generation_report(table.split("train"), rows, report["best_single"]["name"],
                                                           judge=JudgeFitter())
    _write_report(report, out)


def _write_report(report: dict[str, Any], out: str) -> None:
    """report.json, cost_quality.png and the printed table."""
    from router_plugins.scorer.report import format_table, plot_cost_quality

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(dumps(report, indent=2), encoding="utf-8")
    plot_cost_quality(report, folder / "cost_quality.png")
    click.echo(format_table(report))
    if "configuration_selector" in report:
        from router_plugins.configuration_eval import format_configurations

        click.echo(format_configurations(report["dataset"], report, report.get("cost_unit") or "USD"))
    if report.get("post_generation"):
        from router_plugins.replay.post_generation import format_post_generation

        click.echo(format_post_generation(report["post_generation"]))
    click.echo(f"wrote {folder / 'report.json'} and {folder / 'cost_quality.png'}")


@click.command("onboard")
@click.option("--checkpoint", required=True, type=click.Path(exists=True, file_okay=False), help="dc/mf checkpoint")
@click.option("--out", required=True, type=click.Path(), help="checkpoint folder to write (the input is unchanged)")
@click.option("--name", required=True, help="name of the new model")
@click.option("--data", type=click.Path(exists=True), default=None,
              help="outcome folder or CSV with a column for the new model (labelled onboarding); omit for zero-shot")
@click.option("--column", default=None, help="the model's column in DATA (default: --name)")
@click.option("--limit", type=int, default=200, show_default=True, help="labelled train queries to use")
@click.option("--input-price", type=float, default=0.0, help="USD per 1M input tokens (card)")
@click.option("--output-price", type=float, default=0.0, help="USD per 1M output tokens (card)")
@click.option("--size-b", type=float, default=None, help="parameters in billions (card)")
@click.option("--description", default="", help="free-text card description")
def onboard_command(checkpoint: str, out: str, name: str, data: str | None, column: str | None, limit: int,
                    input_price: float, output_price: float, size_b: float | None, description: str) -> None:
    """Add a model to a trained scorer without retraining (≤ LIMIT labelled queries, or zero-shot from its card)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    from router_plugins.scorer.onboarding import onboard_labelled, onboard_zero_shot
    from router_plugins.scorer.report import mean_cost_per_query
    from router_plugins.scorer.trained_scorer import TrainedScorer

    from router_plugins.cards import ModelCard
    from router_plugins.query import Query

    scorer = TrainedScorer.load(checkpoint)
    card = ModelCard(name=name, input_price=input_price, output_price=output_price, size_b=size_b,
                     description=description)
    t0 = time.perf_counter()
    if data is None:
        new = onboard_zero_shot(scorer, card)
        how = "zero-shot from its card"
    else:
        table = _load(data)
        rows = table.split("train") if "train" in set(table.splits.tolist()) else table
        j = rows.model_index(column or name)
        rng = np.random.default_rng(0)
        pick = rng.permutation(np.flatnonzero(np.isfinite(rows.quality[:, j])))[:limit]
        cost = mean_cost_per_query(rows.select(pick)).get(rows.models[j])
        queries = [Query(text=rows.texts[i], task=str(rows.tasks[i])) for i in pick]
        new = onboard_labelled(scorer, card, queries, rows.quality[pick, j], cost_per_query=cost)
        how = f"from {len(pick)} labelled queries"
    path = new.save(out)
    click.echo(f"onboarded {name!r} {how} in {time.perf_counter() - t0:.2f}s → {path}")


def _answered(table: Any, col: int) -> Any:
    """Rows where model column ``col`` has both a recorded outcome and a recorded response."""
    import numpy as np

    return np.flatnonzero(np.isfinite(table.quality[:, col]) & (table.responses[:, col] != None))  # noqa: E711


@click.command("train-judge")
@click.option("--data", required=True, type=click.Path(exists=True),
              help="outcome folder or CSV that records responses (its train split)")
@click.option("--model", "models", required=True, multiple=True, help="cheap model(s) to judge (repeatable)")
@click.option("--out", required=True, type=click.Path(), help="folder for judge.safetensors + judge.json")
@click.option("--task", default=None, help="only rows of this task (e.g. gsm8k)")
def train_judge_command(data: str, models: tuple[str, ...], out: str, task: str | None) -> None:
    """Train a ResponseJudge for escalation cascades: P(answer right) per MODEL from its recorded train answers.
    Prints its out-of-fold train AUC and, where DATA has a test split, its test AUC."""
    import numpy as np
    from router_plugins.scorer.response_judge import ResponseJudge
    from sklearn.metrics import roc_auc_score

    from router_plugins.errors import DataError

    table = _load(data)
    if task is not None:
        table = table.select(table.tasks == task)
    if table.responses is None:
        raise click.UsageError(f"{data}: records no responses; a judge learns from the models' answers")
    train = table.split("train")
    has_test = "test" in set(table.splits.tolist())
    judge = ResponseJudge()
    for model in models:
        j = train.model_index(model)
        rows = _answered(train, j)
        if rows.size == 0:
            raise DataError(f"{data}: no train rows with both an outcome and a response of {model!r}")
        queries = [str(train.texts[i]) for i in rows]
        responses = [str(train.responses[i, j]) for i in rows]
        labels = train.quality[rows, j].tolist()
        oof = judge.out_of_fold(model, queries, responses, labels)
        judge.fit(model, queries, responses, labels)
        line = f"{model}: {rows.size} train answers, out-of-fold AUC {roc_auc_score(np.array(labels) >= 0.5, oof):.3f}"
        if has_test:
            test = table.split("test")
            keep = _answered(test, j)
            conf = judge.confidence(model, [str(test.texts[i]) for i in keep], [str(test.responses[i, j]) for i in keep])
            line += f", test AUC {roc_auc_score(test.quality[keep, j] >= 0.5, conf):.3f} ({keep.size} answers)"
        click.echo(line)
    click.echo(f"saved → {judge.save(out)}")
