"""An explicit task label the checkpoint never saw is certain novelty: top score, the learned label shrinkage, a reason
in the plan and the guard; known labels and no label keep the text score; checkpoints keep (and validate) the rule;
hostile labels get typed errors or are shown escaped."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from router_plugins import ModelCard, Router
from router_plugins.errors import CheckpointError, QueryError
from router_plugins.guards import DomainGuard
from router_plugins.plan import Plan
from router_plugins.query import Query
from router_plugins.replay import OutcomeTable
from router_plugins.scorer.novelty import normalise_task
from router_plugins.scorer.novelty_training import _label_shrinkage
from router_plugins.scorer.pipeline import train_scorer
from router_plugins.scorer.plugin import ScorerPlugin
from router_plugins.scorer.trained_scorer import TrainedScorer
from router_plugins.scorer.training import TrainConfig

from .test_novelty import FAMILIES, MODELS, LookupEncoder, quality_for

#: "omega" queries look exactly like alpha's to the encoder and the surface features, but alpha's specialist fails them.
OMEGA_QUALITY = np.array([0.65, 0.1, 0.1, 0.1])
TRAIN_CHOSEN = 0  # the generalist: 0.65 everywhere, each specialist averages (0.95 + 0.1 + 0.1) / 3 over training


def text(family: str, i: int) -> str:
    """A query of a family; its length and digits vary with ``i`` alike in every family (surface features overlap)."""
    return f"{family} {i:05d} " + "x" * (i % 11) + " 7" * (i % 3)


def make_table(n: int) -> OutcomeTable:
    texts = [text(f, i) for f in FAMILIES for i in range(n)]
    quality = np.array([quality_for(f) for f in FAMILIES for _ in range(n)])
    return OutcomeTable(name="synthetic-families", texts=tuple(texts), tasks=np.repeat(FAMILIES, n),
                        splits=np.array(["train"] * len(texts)), models=MODELS, quality=quality, cost=None)


class OmegaEncoder(LookupEncoder):
    """The test encoder with an "omega" family that shares alpha's direction."""

    def __init__(self) -> None:
        super().__init__()
        self.centers["omega"] = self.centers["alpha"]


@pytest.fixture(scope="module")
def encoder() -> OmegaEncoder:
    return OmegaEncoder()


@pytest.fixture(scope="module")
def scorer(encoder: OmegaEncoder) -> TrainedScorer:
    trained, _ = train_scorer(make_table(n=300), kind="knn", encoder=encoder, encoder_spec=None,
                              config=TrainConfig(kind="knn", progress=False), progress=False)
    return trained


def omegas(task: str | None, n: int = 80) -> list[Query]:
    return [Query(text=text("omega", 1000 + i), task=task) for i in range(n)]


def test_unseen_label_is_certain_novelty_and_rescues_the_router(scorer: TrainedScorer) -> None:
    nov = scorer.novelty
    assert nov is not None and nov.known_tasks == list(FAMILIES)
    # the label strength is learned on held-out training families; here it is the median of the best plateau
    objective = nov.info["label_shrink_objective"]["mean_quality"]
    best = max(objective.values())
    assert nov.label_shrink > 0 and objective[f"{nov.label_shrink:g}"] == best > objective["0"]
    text_only = scorer.novelty_scores(omegas(None))
    assert text_only is not None and float(np.mean(text_only >= 0.95)) < 0.2  # the text cannot tell omega from alpha
    losing = OMEGA_QUALITY[scorer.predict_known(omegas(None)).argmax(axis=1)].mean()
    assert losing < OMEGA_QUALITY[TRAIN_CHOSEN] - 0.3  # kNN follows the alpha neighbours to alpha's specialist
    reading = scorer.novelty_reading(omegas("omega"))
    assert reading is not None
    assert (reading.score == 1.0).all() and np.allclose(reading.shrink, nov.label_shrink)
    assert reading.unseen == ["omega"] * 80 and reading.reason(0) == "task 'omega' not seen in training"
    rescued = OMEGA_QUALITY[scorer.predict_known(omegas("omega")).argmax(axis=1)].mean()
    assert rescued >= OMEGA_QUALITY[TRAIN_CHOSEN]


def test_known_and_absent_labels_keep_the_text_score(scorer: TrainedScorer) -> None:
    texts = [text(f, 800 + i) for f in (*FAMILIES, "omega") for i in range(10)]
    plain = scorer.novelty_scores(texts)
    for task in (None, "", "  ", "unknown", "UNKNOWN ", "None"):
        np.testing.assert_array_equal(scorer.novelty_scores([Query(t, task=task) for t in texts]), plain)
    as_known = [Query(t, task=" Alpha\t") for t in texts]  # case and whitespace do not make a label new
    np.testing.assert_array_equal(scorer.novelty_scores(as_known), plain)
    np.testing.assert_array_equal(scorer.predict_known(as_known),
                                  scorer.predict_known([Query(t, task="alpha") for t in texts]))
    child = scorer.novelty_reading([Query(text("alpha", 1234), task="ALPHA/sub-task")])  # a known parent counts
    assert child is not None and child.unseen == [None] and child.score[0] < 1.0


def test_no_member_reads_an_unseen_label(encoder: OmegaEncoder) -> None:
    # the per-task prior: a known label in another spelling finds its row, an unseen one the global row (as no label)
    prior, _ = train_scorer(make_table(n=60), kind="prior", encoder=encoder, encoder_spec=None,
                            config=TrainConfig(kind="prior", progress=False), progress=False)
    prior.shrink = False
    texts = [text("alpha", 2000 + i) for i in range(5)]
    def rows(task: str | None) -> np.ndarray:
        return prior.predict_known([Query(t, task=task) for t in texts])
    np.testing.assert_array_equal(rows(" ALPHA "), rows("alpha"))
    np.testing.assert_array_equal(rows("omega"), rows(None))
    assert not np.allclose(rows("alpha"), rows(None))
    nov = prior.novelty
    assert nov is not None and nov.canonical_task("Alpha/Sub") == "alpha/sub" and nov.canonical_task("omega") is None


def test_label_strength_is_learned_not_fixed() -> None:
    grid = np.linspace(0.0, 1.0, 11)
    y = np.array([[0.0, 1.0]] * 10 + [[1.0, 0.0]] * 10)
    out = np.ones(20, dtype=bool)
    prior = np.array([0.6, 0.4])  # weight 1 routes every query to model 0: quality 0.5
    # a held-out family where the router's own picks beat the robust prior: the learned strength stays low
    routed = {"p_out": np.where(y > 0.5, 0.9, 0.2), "prior": prior, "out": out}
    strength, objective = _label_shrinkage([routed], y, grid)
    assert objective["mean_quality"]["0"] == 1.0 and objective["mean_quality"]["1"] == 0.5 and strength < 0.5
    # one that picks the wrong model every time: high strength
    blind = {"p_out": np.where(y > 0.5, 0.2, 0.9), "prior": prior, "out": out}
    strength, objective = _label_shrinkage([blind], y, grid)
    assert objective["mean_quality"]["0"] == 0.0 and strength > 0.5
    # a gain on one family does not buy a loss on another: the mean favours weight 0, the per-family constraint not
    y2 = np.vstack([y, [[1.0, 0.0]] * 16 + [[0.0, 1.0]] * 4])  # rows 20-39: model 0 is right on 16 of 20 (0.8)
    first, second = np.arange(40) < 20, np.arange(40) >= 20
    gain = {"p_out": np.where(y > 0.5, 0.9, 0.2), "prior": prior, "out": first}  # +0.5 over not routing
    loss = {"p_out": np.tile([0.2, 0.9], (20, 1)), "prior": prior, "out": second}  # always model 1: 0.2, −0.6
    loss["p_out"][8:] = np.where(y2[28:] > 0.5, 0.9, 0.2)  # right from row 8 on: 0.6 in all, −0.2
    strength, objective = _label_shrinkage([gain, gain, loss], y2, grid)
    assert objective["mean_quality"]["0"] > objective["mean_quality"]["1"] and strength > 0.5
    assert "0" not in objective["safe"] and "1" in objective["safe"]


def test_label_strength_routes_each_query_among_its_recorded_models() -> None:
    # a union of two datasets: model 2 (the best robust prior) has no outcome on the held-out family's rows, so not
    # routing there means its best recorded model, not a NaN that would make every strength look equally bad
    y = np.array([[1.0, 0.0, np.nan]] * 10)
    fold = {"p_out": np.tile([0.1, 0.8, 0.9], (10, 1)), "prior": np.array([0.6, 0.4, 0.9]), "out": np.ones(10, bool)}
    strength, objective = _label_shrinkage([fold], y, np.linspace(0.0, 1.0, 11))
    assert objective["mean_quality"]["1"] == 1.0 and objective["mean_quality"]["0"] == 0.0 and strength > 0.5


def test_plan_and_guard_say_why(scorer: TrainedScorer) -> None:
    cards = [ModelCard(name=m, input_price=1.0, output_price=1.0) for m in MODELS]
    router = Router(cards, plugins=[ScorerPlugin(scorer), DomainGuard("generalist")], load_entrypoints=False, lam=0.0)
    plan = router.plan(Query(text("omega", 1003), task="omega"))
    assert plan.metadata["novelty"]["score"] == 1.0
    assert plan.metadata["novelty"]["reason"] == "task 'omega' not seen in training"
    assert "task 'omega' not seen in training" in plan.metadata["guard"] and "generalist" in plan.metadata["guard"]
    assert "not seen in training" in plan.explain()
    for task in ("alpha", None):  # the same text with a known label or none passes the guard
        passed = router.plan(Query(text("omega", 1003), task=task))
        assert "guard" not in passed.metadata and "reason" not in passed.metadata["novelty"]
    with pytest.raises(QueryError, match="not seen in training"):
        Router(cards, plugins=[ScorerPlugin(scorer), DomainGuard()], load_entrypoints=False).plan(
            Query("alpha 00001", task="brand-new"))


def test_checkpoint_round_trip_keeps_the_label_rule(scorer: TrainedScorer, encoder: OmegaEncoder,
                                                    tmp_path: Path) -> None:
    path = scorer.save(tmp_path / "ckpt")
    loaded = TrainedScorer.load(path, encoder=encoder)
    assert loaded.novelty is not None and scorer.novelty is not None
    assert loaded.novelty.known_tasks == scorer.novelty.known_tasks
    assert loaded.novelty.label_shrink == scorer.novelty.label_shrink
    queries = omegas("omega", 10) + omegas(None, 10) + omegas("alpha", 10)
    np.testing.assert_allclose(loaded.predict_known(queries), scorer.predict_known(queries), atol=1e-6)
    np.testing.assert_array_equal(loaded.novelty_scores(queries), scorer.novelty_scores(queries))
    # a checkpoint written before the rule loads with it off: labels are ignored, the text decides
    cfg_file = path / "config.json"
    cfg = json.loads(cfg_file.read_text())
    del cfg["novelty"]["known_tasks"], cfg["novelty"]["label_shrink"]
    cfg_file.write_text(json.dumps(cfg))
    old = TrainedScorer.load(path, encoder=encoder)
    assert old.novelty is not None and old.novelty.known_tasks == [] and old.novelty.label_shrink == 0.0
    np.testing.assert_array_equal(old.novelty_scores(omegas("omega", 10)), scorer.novelty_scores(omegas(None, 10)))


@pytest.mark.parametrize("edit, message", [
    (lambda n: n.update(label_shrink=1.5), "label_shrink"),
    (lambda n: n.update(label_shrink=True), "label_shrink"),
    (lambda n: n.update(label_shrink=float("nan")), "label_shrink"),
    (lambda n: n.update(known_tasks="alpha"), "known_tasks"),
    (lambda n: n.update(known_tasks=[1, 2]), "known_tasks"),
    (lambda n: n.update(known_tasks=["x" * 5000]), "known_tasks"),
])
def test_malformed_label_settings_are_refused(scorer: TrainedScorer, encoder: OmegaEncoder, tmp_path: Path,
                                              edit: object, message: str) -> None:
    path = scorer.save(tmp_path / "ckpt")
    cfg_file = path / "config.json"
    cfg = json.loads(cfg_file.read_text())
    edit(cfg["novelty"])  # type: ignore[operator]
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=message):
        TrainedScorer.load(path, encoder=encoder)


@pytest.mark.parametrize("task", [7, b"mmlu", ["mmlu"], "x" * 1001])
def test_hostile_labels_get_a_typed_error(task: object) -> None:
    with pytest.raises(QueryError, match="task"):
        Query("alpha 00001", task=task)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="task"):
        normalise_task(task)


def test_control_characters_in_a_label_are_shown_escaped(scorer: TrainedScorer,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    evil = "evil\x1b[31m\nINFO fake log line\x00" + "\u202e" * 3 + "y" * 900
    cards = [ModelCard(name=m, input_price=1.0, output_price=1.0) for m in MODELS]
    router = Router(cards, plugins=[ScorerPlugin(scorer), DomainGuard("generalist")], load_entrypoints=False)
    with caplog.at_level(logging.DEBUG):
        plan = router.plan(Query("alpha 00001", task=evil))
    reason = plan.metadata["novelty"]["reason"]
    assert reason.isprintable() and "\x1b" not in reason and "\n" not in reason and len(reason) < 200
    assert plan.metadata["novelty"]["score"] == 1.0 and "\x1b" not in plan.metadata["guard"]
    assert "\x1b" not in plan.explain() and "\x1b" not in caplog.text
    # a hostile reason in stored plan metadata is not shown
    data = plan.to_dict()
    for bad in ("a\x1bb", 42, None):
        data["metadata"] = {"novelty": {"score": 1.0, "shrink": 0.5, "reason": bad}}
        text = Plan.from_dict(data).explain()
        assert "\x1b" not in text and "novelty 1.00" in text


def test_a_known_label_vouches_for_the_query_text_shrinkage_is_for_unlabelled_ones(scorer: TrainedScorer) -> None:
    # far-off text: unlabelled it shrinks by its text score; labelled with a known task it keeps its predictions
    # (the score is still reported); labelled with an unseen task it gets the label strength
    far = [f"unseen {i:05d}" for i in range(40)]
    readings = {task: scorer.novelty_reading([Query(text=t, task=task) for t in far])
                for task in (None, "alpha", "ALPHA/sub", "zeta")}
    assert all(r is not None for r in readings.values())
    assert float(np.mean(readings[None].shrink)) > 0.1  # type: ignore[union-attr]
    for known in ("alpha", "ALPHA/sub"):
        assert np.all(readings[known].shrink == 0.0)  # type: ignore[union-attr]
        np.testing.assert_allclose(readings[known].score, readings[None].score)  # type: ignore[union-attr]
    assert np.all(readings["zeta"].shrink == scorer.novelty.label_shrink)  # type: ignore[union-attr]
    plain = scorer.predictor.predict(scorer.embed(far), ["alpha"] * len(far))
    np.testing.assert_allclose(scorer.predict_known([Query(text=t, task="alpha") for t in far]), plain, rtol=1e-6)


def test_plan_batch_reads_the_novelty_in_one_pass_and_records_the_same_values(scorer: TrainedScorer,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    queries = [Query(text=text(f, 2000 + i), task=task) for i, (f, task) in
               enumerate([("alpha", "alpha"), ("unseen", None), ("omega", "zeta"), ("beta", None)] * 3)]
    cards = [ModelCard(name=m, input_price=1.0, output_price=1.0) for m in MODELS]
    one_by_one = [Router(cards, plugins=[ScorerPlugin(scorer)], load_entrypoints=False).plan(q).metadata["novelty"]
                  for q in queries]
    calls: list[int] = []
    read = scorer.novelty_reading

    def counting(qs: object) -> object:
        calls.append(len(qs))  # type: ignore[arg-type]
        return read(qs)  # type: ignore[arg-type]

    monkeypatch.setattr(scorer, "novelty_reading", counting)
    plugin = ScorerPlugin(scorer)
    plans = Router(cards, plugins=[plugin], load_entrypoints=False).plan_batch(queries)
    assert [p.metadata["novelty"] for p in plans] == one_by_one
    assert calls == [len(queries)]  # the guard hooks reused the batch's reading
    assert plugin._batch.found == {}  # each reading was handed out once, nothing of the batch is kept
