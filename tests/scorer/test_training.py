"""Every router kind, trained on a small slice, beats random routing on held-out rows; losses mask NaN."""

from __future__ import annotations

import numpy as np
import pytest

from router_plugins.replay import baselines, evaluate_choices
from router_plugins.scorer.pipeline import predictions, train_scorer
from router_plugins.scorer.report import route
from router_plugins.scorer.training import TrainConfig, simplex_weights, task_prior

from .conftest import make_table


@pytest.mark.parametrize("kind", ["dc", "knn", "mlp", "mf", "prior", "stack"])
def test_trained_router_beats_random(kind: str, tiny_encoder: object) -> None:
    table = make_table()
    train, test = table.split("train"), table.split("test")
    scorer, info = train_scorer(train, kind=kind, encoder=tiny_encoder, encoder_spec=None,
                                config=TrainConfig(epochs=30, progress=False), progress=False)
    pred = predictions(scorer, test)
    assert pred.shape == (len(test), 3) and (pred >= 0).all() and (pred <= 1).all()
    quality, _ = evaluate_choices(test, route(pred, None, 0.0))
    assert quality > baselines(test)["random"]["quality"] + 0.1


def test_dc_uses_task_when_given_and_text_alone(tiny_encoder: object) -> None:
    table = make_table()
    train, test = table.split("train"), table.split("test")
    scorer, _ = train_scorer(train, kind="dc", encoder=tiny_encoder, encoder_spec=None,
                             config=TrainConfig(use_task=True, progress=False), progress=False)
    assert scorer.predictor.tasks == sorted(set(train.tasks.tolist()))
    for use_task in (True, False):
        q, _ = evaluate_choices(test, route(predictions(scorer, test, use_task=use_task), None, 0.0))
        assert q > 0.6


def test_losses_mask_nan() -> None:
    torch = pytest.importorskip("torch")
    from router_plugins.scorer.losses import masked_bce, sample_llm_contrastive, sample_sample_contrastive

    logits = torch.zeros(4, 3, requires_grad=True)
    y = torch.tensor([[1.0, float("nan"), 0.0]] * 4)
    for loss in (masked_bce(logits, y), sample_llm_contrastive(logits, y, 2, 2),
                 sample_sample_contrastive(logits, torch.tensor([0, 0, 1, 1]))):
        assert torch.isfinite(loss)
        loss.backward()
        assert torch.isfinite(logits.grad).all()
    all_nan = torch.full((2, 3), float("nan"))
    assert float(masked_bce(torch.zeros(2, 3), all_nan)) == 0.0


def test_lambda_sweep_spans_best_to_cheapest() -> None:
    from router_plugins.scorer.report import lambda_grid

    costs = np.array([1e-4, 5e-4, 2e-3])
    pred = np.tile([0.2, 0.5, 0.9], (5, 1)).astype(np.float32)
    grid = lambda_grid(costs)
    assert (route(pred, costs, grid[0]) == 2).all()
    assert (route(pred, costs, grid[-1]) == 0).all()


def test_every_trained_tensor_is_a_registered_parameter() -> None:
    """MasRouter's pitfall: a tensor meant to be trained but never registered is silently never trained."""
    from router_plugins.scorer.training import _build_net

    net = _build_net(8, 3, TrainConfig())
    names = {name for name, _ in net.named_parameters()}
    assert {"model_embeddings", "model_bias"} <= names
    assert set(net.state_dict()) == names, "every tensor of the head must be a trainable parameter"


def test_sample_llm_loss_is_cross_entropy_on_raw_logits() -> None:
    """MasRouter's other pitfall: cross-entropy over probabilities that were already softmaxed."""
    import math

    import torch

    from router_plugins.scorer.losses import sample_llm_contrastive

    logits = torch.tensor([[2.0, 0.5, -1.0]])
    targets = torch.tensor([[1.0, 0.0, 0.0]])
    loss = sample_llm_contrastive(logits, targets, top_k=1, last_k=2)
    by_hand = -(2.0 - math.log(math.exp(2.0) + math.exp(0.5) + math.exp(-1.0)))
    assert float(loss) == pytest.approx(by_hand, rel=1e-6)


def test_task_prior_backs_off_to_parent_task_then_global() -> None:
    y = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, np.nan], [0.0, 0.0]])
    names, table = task_prior(y, ["a/x", "a/x", "a/y", "b", "b"], strength=0.0)
    assert names == ["a", "b", "a/x", "a/y"]
    np.testing.assert_allclose(table[names.index("a/x")], [1.0, 0.0])
    np.testing.assert_allclose(table[names.index("a")], [2 / 3, 1 / 3])
    np.testing.assert_allclose(table[names.index("b")], [0.0, 0.0])  # NaN outcomes are not counted
    np.testing.assert_allclose(table[-1], [0.4, 0.25])
    from router_plugins.scorer.predictors import Predictor

    prior = Predictor("prior", ["m1", "m2"], {"prior_tasks": names}, {"task_prior": table})
    got = prior.predict(np.zeros((4, 3), np.float32), ["a/x", "a/unseen", "c", None])
    np.testing.assert_allclose(got, table[[names.index("a/x"), names.index("a"), -1, -1]])
    # With pseudo-rows a small task is pulled towards its parent.
    _, shrunk = task_prior(y, ["a/x", "a/x", "a/y", "b", "b"], strength=2.0)
    assert 2 / 3 < shrunk[names.index("a/x"), 0] < 1.0
    # A model with no recorded outcome on a task, and no pseudo-rows, takes its parent's value (not NaN).
    gap = np.array([[1.0, np.nan], [0.0, np.nan], [1.0, 1.0]])
    names, table = task_prior(gap, ["c/x", "c/x", "d"], strength=0.0)
    assert np.isfinite(table).all()
    assert table[names.index("c/x"), 1] == table[names.index("c"), 1] == pytest.approx(1.0)  # c → global mean 1.0


def test_prior_strength_is_chosen_on_the_validation_slice(tiny_encoder: object) -> None:
    train = make_table().split("train")
    scorer, info = train_scorer(train, kind="prior", encoder=tiny_encoder, encoder_spec=None,
                                config=TrainConfig(progress=False, prior_strengths=(0.0, 5.0, 1e6)), progress=False)
    briers = info["info"]["val_brier_by_strength"]
    assert set(briers) == {0.0, 5.0, 1e6} and briers[1e6] > min(briers.values())  # ~global mean: clearly worse
    assert info["info"]["strength"] == min(briers, key=briers.get) == scorer.predictor.config["strength"]


def test_stack_weights_pick_the_informative_member() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((400, 3)) < 0.5).astype(float)
    good, noise = np.clip(y * 0.8 + 0.1, 0, 1), rng.random(y.shape)
    weights, brier = simplex_weights([noise.astype(np.float32), good.astype(np.float32)], y, step=0.1)
    assert weights == [0.0, 1.0] and brier == pytest.approx(0.01)
    weights, _ = simplex_weights([good.astype(np.float32), np.full(y.shape, 0.5, np.float32)], y, step=0.25)
    assert sum(weights) == pytest.approx(1.0) and weights[0] >= 0.75


def test_stack_has_separate_weights_for_queries_of_unknown_task(tiny_encoder: object) -> None:
    table = make_table()
    train, test = table.split("train"), table.split("test")
    scorer, info = train_scorer(train, kind="stack", encoder=tiny_encoder, encoder_spec=None,
                                config=TrainConfig(epochs=30, progress=False), progress=False)
    # Without a task the prior is one global row for every query: the held-out fit moves weight off it.
    assert info["info"]["no_task_weights"]["prior"] < info["info"]["weights"]["prior"] or info["info"]["weights"]["prior"] == 0
    assert scorer.predictor.config["known_tasks"] == sorted(set(train.tasks.tolist()))
    for use_task in (True, False):
        q, _ = evaluate_choices(test, route(predictions(scorer, test, use_task=use_task), None, 0.0))
        assert q > baselines(test)["random"]["quality"] + 0.1
