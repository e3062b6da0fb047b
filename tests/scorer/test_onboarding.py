"""Onboarding adds a model without retraining, and a Router using the onboarded scorer picks it when it is best."""

from __future__ import annotations


import numpy as np
import pytest

from router_plugins import ModelCard, Router
from router_plugins.errors import ScorerError
from router_plugins.query import Query
from router_plugins.scorer.onboarding import onboard_labelled, onboard_zero_shot
from router_plugins.scorer.pipeline import train_scorer
from router_plugins.scorer.plugin import ScorerPlugin
from router_plugins.scorer.training import TrainConfig

from .conftest import COST, make_table

NEW = "new-poet"


@pytest.fixture(params=["dc", "stack"])
def base_scorer(request: pytest.FixtureRequest, tiny_encoder: object) -> object:
    table = make_table(n_per_topic=40)
    train = table.split("train").select(np.ones(int((table.splits == "train").sum()), dtype=bool))
    # Train on the first two models only; the third is replaced by a new, better poem model below.
    from dataclasses import replace as _r  # noqa: F401

    sub = type(train)(name=train.name, texts=train.texts, tasks=train.tasks, splits=train.splits,
                      models=train.models[:2], quality=train.quality[:, :2], cost=train.cost[:, :2])
    scorer, _ = train_scorer(sub, kind=request.param, encoder=tiny_encoder, encoder_spec=None,
                             config=TrainConfig(epochs=40, progress=False), progress=False)
    return scorer


def _pool() -> list[ModelCard]:
    return [ModelCard(name="cheap-math", input_price=0.1, output_price=0.1),
            ModelCard(name="mid-code", input_price=0.5, output_price=0.5),
            ModelCard(name=NEW, input_price=1.0, output_price=1.0, size_b=70)]


def test_labelled_onboarding_is_used_by_the_router(base_scorer: object) -> None:
    table = make_table(n_per_topic=40, seed=5)
    poem = table.tasks == "poem"
    labels = np.where(poem, 1.0, 0.1)  # the new model is excellent at poems only
    scorer = onboard_labelled(base_scorer, ModelCard(name=NEW, input_price=1.0, output_price=1.0),
                              list(table.texts[:150]), labels[:150], cost_per_query=2e-3)
    assert scorer.models == ["cheap-math", "mid-code", NEW]
    assert scorer.meta["onboarded"][NEW]["method"] == "labelled"
    router = Router(_pool(), plugins=[ScorerPlugin(scorer)], load_entrypoints=False)
    plan = router.plan("write a poem rhyme verse about the moon")
    assert plan.roles[0].model == NEW
    plan = router.plan("add subtract sum number equation")
    assert plan.roles[0].model != NEW
    plans = router.plan_batch(["write poem sonnet haiku", "python function loop bug"])
    assert plans[0].roles[0].model == NEW


def test_zero_shot_onboarding_and_unknown_models(base_scorer: object) -> None:
    card = ModelCard(name=NEW, input_price=1.0, output_price=1.0)
    scorer = onboard_zero_shot(base_scorer, card)
    assert NEW in scorer.models and scorer.meta["onboarded"][NEW]["labels"] == 0
    pred = scorer.predict([Query("write a poem")], [c.name for c in _pool()])
    assert pred.shape == (1, 3) and np.isfinite(pred).all()
    # Unknown pool models: zero-shot blend by default, ScorerError on request.
    plugin = ScorerPlugin(base_scorer)
    scores = plugin.score_models(query=Query("write a poem"), pool=Router(_pool(), load_entrypoints=False).pool)
    assert len(scores) == 3 and all(0 <= s <= 1 for s in scores)
    base_scorer.unknown = "error"
    base_scorer._column_cache.clear()
    with pytest.raises(ScorerError, match=NEW):
        base_scorer.predict(["write a poem"], Router(_pool(), load_entrypoints=False).pool)


def test_cost_per_query_recorded_for_new_model(base_scorer: object) -> None:
    scorer = onboard_zero_shot(base_scorer, ModelCard(name=NEW, input_price=1.0, output_price=1.0), cost_per_query=COST["big-poem"])
    assert scorer.cost_per_query[NEW] == pytest.approx(COST["big-poem"])


def test_onboarded_stack_round_trips_and_needs_a_head(base_scorer: object, tmp_path: object, tiny_encoder: object) -> None:
    from router_plugins.errors import CheckpointError
    from router_plugins.scorer.trained_scorer import TrainedScorer

    scorer = onboard_zero_shot(base_scorer, ModelCard(name=NEW, input_price=1.0, output_price=1.0))
    loaded = TrainedScorer.load(scorer.save(tmp_path / "onboarded"), encoder=tiny_encoder)
    texts = ["write a poem", "add the numbers"]
    assert loaded.models == scorer.models == ["cheap-math", "mid-code", NEW]
    np.testing.assert_allclose(loaded.predict_known(texts), scorer.predict_known(texts), rtol=1e-5, atol=1e-6)
    knn, _ = train_scorer(make_table(n_per_topic=20).split("train"), kind="knn", encoder=tiny_encoder,
                          encoder_spec=None, config=TrainConfig(progress=False), progress=False)
    with pytest.raises(CheckpointError, match="dc or mf"):
        onboard_zero_shot(knn, ModelCard(name=NEW))


@pytest.mark.parametrize("kind", ["dc", "mf", "knn", "mlp", "prior", "stack"])
def test_without_model_drops_one_column_and_keeps_the_others(kind: str, tiny_encoder: object) -> None:
    table = make_table(n_per_topic=20)
    scorer, _ = train_scorer(table.split("train"), kind=kind, encoder=tiny_encoder, encoder_spec=None,
                             config=TrainConfig(epochs=5, progress=False), progress=False)
    texts, tasks = list(table.texts[:12]), list(table.tasks[:12])
    p, x = scorer.predictor, scorer.embed(texts)
    gone = p.without_model(p.models[1])
    assert gone.models == [p.models[0], p.models[2]]
    np.testing.assert_allclose(gone.predict(x, tasks), p.predict(x, tasks)[:, [0, 2]], rtol=1e-5, atol=1e-6)
    assert p.without_model("not-there") is p


def test_reonboarding_a_model_a_stack_knows_replaces_its_old_scores(tiny_encoder: object) -> None:
    """The stack's other members forget the model, so its new labels alone (through the head) decide its score."""
    table = make_table(n_per_topic=30)
    stack, _ = train_scorer(table.split("train"), kind="stack", encoder=tiny_encoder, encoder_spec=None,
                            config=TrainConfig(epochs=20, progress=False), progress=False)
    name = stack.models[1]
    texts = [t for t, task in zip(table.texts, table.tasks) if task == table.tasks[0]][:40]
    before = stack.predict_known(texts)[:, stack.models.index(name)]
    again = onboard_labelled(stack, ModelCard(name=name, input_price=0.5, output_price=0.5), texts, [1.0] * len(texts))
    pred, head = again.predictor, again.predictor.head()
    x = again.embed(texts)
    assert [name in p.models for _, p in pred._members] == [p is head for _, p in pred._members]
    col = pred.predict(x)[:, pred.models.index(name)]
    np.testing.assert_allclose(col, head.predict(x)[:, head.models.index(name)], rtol=1e-5)
    assert col.mean() > before.mean() + 0.3  # the new all-right labels decide, not the old columns
