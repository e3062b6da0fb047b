"""Novelty detection and shrinkage: the score grows under a shift, shrinkage rescues a router on an unseen family,
DomainGuard pins and refuses with reasons, and checkpoints keep (and validate) the calibration."""

from __future__ import annotations

import copy
import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from router_plugins import ModelCard, Router
from router_plugins.errors import CheckpointError, ConfigError, QueryRejectedError
from router_plugins.guards import DomainGuard
from router_plugins.replay import OutcomeTable
from router_plugins.query import Query
from router_plugins.scorer.novelty_training import fit_novelty
from router_plugins.scorer.pipeline import train_scorer
from router_plugins.scorer.plugin import ScorerPlugin
from router_plugins.scorer.trained_scorer import TrainedScorer
from router_plugins.scorer.training import TrainConfig

DIM = 16
FAMILIES = ("alpha", "beta", "gamma")
MODELS = ("generalist", "spec-alpha", "spec-beta", "spec-gamma")


class LookupEncoder:
    """Deterministic fake encoder: a text "<family> <5-digit i>" maps to a unit vector near that family's direction."""

    id = "lookup-test-encoder"
    dim = DIM

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        basis = np.linalg.qr(rng.normal(size=(DIM, DIM)))[0]
        self.centers = {f: basis[i] for i, f in enumerate(FAMILIES)}
        # "unseen" shares alpha's direction partly, so nearest neighbours of its queries are alpha queries.
        self.centers["unseen"] = 0.5 * basis[0] + 0.87 * basis[3]
        self.rng_seed = seed

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            family, _, index = text.partition(" ")
            rng = np.random.default_rng([zlib.crc32(text.encode()), self.rng_seed])
            v = self.centers.get(family, np.ones(DIM) / DIM ** 0.5) + rng.normal(scale=0.12, size=DIM)
            out[i] = v / np.linalg.norm(v)
        return out


def quality_for(family: str) -> list[float]:
    """The generalist is decent everywhere; each specialist is excellent on its family and poor elsewhere."""
    return [0.65] + [0.95 if f == family else 0.1 for f in FAMILIES]


def make_table(n: int = 120, families: tuple[str, ...] = FAMILIES) -> OutcomeTable:
    texts = [f"{f} {i:05d}" for f in families for i in range(n)]
    tasks = np.array([f for f in families for _ in range(n)])
    quality = np.array([quality_for(f) for f in families for _ in range(n)])
    return OutcomeTable(name="synthetic-families", texts=tuple(texts), tasks=tasks,
                        splits=np.array(["train"] * len(texts)), models=MODELS, quality=quality, cost=None)


@pytest.fixture(scope="module")
def encoder() -> LookupEncoder:
    return LookupEncoder()


@pytest.fixture(scope="module")
def scorer(encoder: LookupEncoder) -> TrainedScorer:
    trained, _ = train_scorer(make_table(n=300), kind="knn", encoder=encoder, encoder_spec=None,
                              config=TrainConfig(kind="knn", progress=False), progress=False)
    return trained


def test_novelty_grows_under_a_synthetic_shift(encoder: LookupEncoder) -> None:
    table = make_table(n=300)
    x = encoder.encode(list(table.texts))
    val = np.zeros(len(table), dtype=bool)
    val[::5] = True
    model = fit_novelty(x, list(table.texts), list(table.tasks), table.quality, list(MODELS), val, None)
    assert model is not None
    texts = [f"alpha {1000 + i:05d}" for i in range(60)]
    base = encoder.encode(texts)
    direction = np.random.default_rng(1).normal(size=DIM)
    means = []
    for step in (0.0, 0.3, 0.6, 1.2):
        shifted = base + step * direction / np.linalg.norm(direction)
        shifted /= np.linalg.norm(shifted, axis=1, keepdims=True)
        means.append(float(model.score(shifted, texts).mean()))
    assert all(a < b for a, b in zip(means, means[1:])), means
    assert means[0] < 0.8 and means[-1] > 0.95
    # calibration: about 5 % of held-out in-distribution queries reach 0.95
    fresh = [f"{f} {5000 + i:05d}" for f in FAMILIES for i in range(200)]
    assert 0.0 < float((model.score(encoder.encode(fresh), fresh) >= 0.95).mean()) < 0.15


def test_shrinkage_rescues_the_router_on_an_unseen_family(scorer: TrainedScorer) -> None:
    unseen = [Query(text=f"unseen {i:05d}", task="unseen") for i in range(80)]
    best_training_single = 0  # the generalist: 0.65 on every family, the specialists average 0.38
    quality = np.array(quality_for("unseen"))
    scorer.shrink = False
    try:
        raw_pick = scorer.predict_known(unseen).argmax(axis=1)
    finally:
        scorer.shrink = True
    shrunk_pick = scorer.predict_known(unseen).argmax(axis=1)
    assert quality[raw_pick].mean() < quality[best_training_single] - 0.3  # kNN follows the alpha neighbours
    assert quality[shrunk_pick].mean() >= quality[best_training_single] - 0.005
    assert scorer.novelty is not None and scorer.novelty.shrink_max > 0
    # in-distribution queries keep their specialists
    known = [Query(text=f"{f} {900 + i:05d}", task=f) for f in FAMILIES for i in range(20)]
    picks = scorer.predict_known(known).argmax(axis=1)
    assert (picks == np.repeat([1, 2, 3], 20)).mean() > 0.9


def _router(scorer: TrainedScorer, guard: DomainGuard) -> Router:
    cards = [ModelCard(name=m, input_price=1.0, output_price=1.0) for m in MODELS]
    return Router(cards, plugins=[ScorerPlugin(scorer), guard], load_entrypoints=False, lam=0.0)


def test_domain_guard_pins_and_refuses_with_reasons(scorer: TrainedScorer) -> None:
    router = _router(scorer, DomainGuard("generalist", fpr=0.05))
    inside = router.plan(Query(text="beta 00007", task="beta"))
    assert "guard" not in inside.metadata and inside.metadata["novelty"]["score"] < 0.95
    assert "novelty" in inside.explain()
    outside = router.plan("unseen 00003")
    assert outside.metadata["novelty"]["score"] >= 0.95
    assert "off-domain" in outside.metadata["guard"] and "generalist" in outside.metadata["guard"]
    assert {r.model for r in outside.roles if r.model} == {"generalist"}
    assert "toward the robust prior" in outside.explain()
    with pytest.raises(QueryRejectedError, match="no pin model"):
        _router(scorer, DomainGuard()).plan("unseen 00004")
    with pytest.raises(QueryRejectedError, match="not in the pool"):
        _router(scorer, DomainGuard("missing-model")).plan("unseen 00005")
    with pytest.raises(QueryRejectedError, match="refusal threshold"):
        _router(scorer, DomainGuard("generalist", fpr=0.2, refuse_fpr=0.01)).plan("unseen 00006")
    # batch planning records the score per query too (the guard reads it from each plan's context)
    plans = router.plan_batch(["beta 00007", "unseen 00008"])
    assert plans[0].metadata.get("guard") is None and "off-domain" in plans[1].metadata["guard"]
    # a guard with its own scorer works without a scorer plugin in the router
    alone = Router([ModelCard(name=m) for m in MODELS], plugins=[DomainGuard("generalist", scorer=scorer)],
                   load_entrypoints=False)
    assert "off-domain" in alone.plan("unseen 00009").metadata["guard"]


@pytest.mark.parametrize("fpr, refuse", [(0.0, None), (1.0, None), ("0.05", None), (True, None), (0.05, 0.2)])
def test_domain_guard_rejects_bad_rates(fpr: object, refuse: object) -> None:
    with pytest.raises(ConfigError):
        DomainGuard("generalist", fpr=fpr, refuse_fpr=refuse)  # type: ignore[arg-type]


def test_checkpoint_round_trip_keeps_the_calibration(scorer: TrainedScorer, encoder: LookupEncoder,
                                                     tmp_path: Path) -> None:
    path = scorer.save(tmp_path / "ckpt")
    loaded = TrainedScorer.load(path, encoder=encoder)
    texts = [f"{f} {700 + i:05d}" for f in (*FAMILIES, "unseen") for i in range(10)]
    np.testing.assert_allclose(loaded.novelty_scores(texts), scorer.novelty_scores(texts), atol=1e-6)
    np.testing.assert_allclose(loaded.predict_known(texts), scorer.predict_known(texts), atol=1e-6)
    assert loaded.novelty is not None and scorer.novelty is not None
    np.testing.assert_array_equal(loaded.novelty.tensors["quantiles"], scorer.novelty.tensors["quantiles"])
    strength = ("shrink_start", "shrink_max", "shrink_ramp")
    assert [getattr(loaded.novelty, k) for k in strength] == [getattr(scorer.novelty, k) for k in strength]


def test_scoring_reads_the_current_tensors(scorer: TrainedScorer, encoder: LookupEncoder) -> None:
    # scoring converts the tensors to float64 once per tensor dict: a replaced dict is read, not the cached copy
    nov = copy.copy(scorer.novelty)
    assert nov is not None
    texts = [f"alpha {i:05d}" for i in range(10)]
    x = encoder.encode(texts)
    before = nov.score(x, texts)
    nov.tensors = {**nov.tensors, "quantiles": nov.tensors["quantiles"] + 100.0}  # every raw score now below them
    assert (nov.score(x, texts) == 0.0).all() and (before > 0.0).any()


@pytest.mark.parametrize("edit, message", [
    (lambda n: n.update(shrink_max=5.0), "shrink_max"),
    (lambda n: n.update(shrink_start=float("nan")), "shrink_start"),
    (lambda n: n.update(shrink_start=-50.0), "shrink_start"),  # a floor starts at most a few ramps below 0
    (lambda n: n.update(shrink_max=True), "booleans"),
    (lambda n: n.update(shrink_ramp=0.0), "shrink_ramp"),  # it divides
    (lambda n: n.update(shrink_ramp=float("nan")), "shrink_ramp"),
    (lambda n: n.update(shrink_ramp="0.5"), "shrink_ramp"),
    (lambda n: n.update(shrink_ramp=False), "booleans"),
    (lambda n: n.update(weights=["x", 1]), "weights must be one finite number"),
    (lambda n: n.update(weights=[1.0]), "one finite number per view"),
    (lambda n: n.update(scales=[0.0] * len(n["views"])), "scales must be positive"),
    (lambda n: n.update(centers=[float("inf")] * len(n["views"])), "centers"),
    (lambda n: n.update(families=n["families"] + ["extra"]), "shape"),
    (lambda n: n.update(families=[n["families"][0]] * len(n["families"])), "distinct"),
    (lambda n: n.update(surface_features=["evil"]), "surface features"),
    (lambda n: n.pop("prior_models"), "malformed novelty"),
])
def test_malformed_novelty_settings_are_refused(scorer: TrainedScorer, encoder: LookupEncoder, tmp_path: Path,
                                                edit: object, message: str) -> None:
    path = scorer.save(tmp_path / "ckpt")
    cfg_file = path / "config.json"
    cfg = json.loads(cfg_file.read_text())
    edit(cfg["novelty"])  # type: ignore[operator]
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=message):
        TrainedScorer.load(path, encoder=encoder)


def test_novelty_entry_must_be_an_object_and_present(scorer: TrainedScorer, encoder: LookupEncoder,
                                                     tmp_path: Path) -> None:
    path = scorer.save(tmp_path / "ckpt")
    cfg_file = path / "config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["novelty"] = "evil"
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="must be an object"):
        TrainedScorer.load(path, encoder=encoder)
    del cfg["novelty"]
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="no 'novelty' entry"):
        TrainedScorer.load(path, encoder=encoder)


def test_hostile_plan_metadata_does_not_break_explain(scorer: TrainedScorer) -> None:
    from router_plugins.plan import Plan

    plan = _router(scorer, DomainGuard("generalist")).plan("alpha 00003")
    data = plan.to_dict()
    for bad in ({"score": "1; rm -rf /", "shrink": 0.1}, "novelty", {"score": None}):
        data["metadata"] = {"novelty": bad}
        text = Plan.from_dict(data).explain()
        assert "novelty" not in text
