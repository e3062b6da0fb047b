"""The format-2 novelty detector (relative Mahalanobis, family-classifier entropy, nearest training query, learned
weights): each view grows under a shift, the combination beats the format-1 one on a near-twin family, checkpoints
round-trip, format-1 checkpoints (the shipped default included) still load and score as before, malformed ones get
typed errors."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from router_plugins.errors import CheckpointError
from router_plugins.scorer._novelty_fit import BANK_PER_FAMILY, fit_view_tensors, whitening
from router_plugins.scorer._novelty_views import LEGACY_VIEWS, VIEWS, family_distance, view_values
from router_plugins.scorer.novelty import NoveltyModel
from router_plugins.scorer.novelty import surface_features
from router_plugins.scorer.novelty_training import _Views, fit_detector, fit_novelty
from router_plugins.scorer.pipeline import train_scorer
from router_plugins.scorer.trained_scorer import TrainedScorer
from router_plugins.scorer.training import TrainConfig

from .test_novelty import LookupEncoder, make_table

DIM = 24
TRAIN = ("alpha", "beta", "gamma", "delta", "eps", "mix")
#: The views that read the embedding and the surface form: the texts here name their family in their first word, which
#: the template views (``edge``, ``tmpl``; tests/scorer/test_novelty_edges.py) would read at once.
EMBEDDING_VIEWS = tuple(v for v in VIEWS if v not in ("edge", "tmpl"))


class TwinEncoder:
    """Families along orthogonal directions, except "mix", a training family between gamma and delta (so leaving it
    out teaches the detector what a family between families looks like); "twin" lies between alpha and beta (near
    both, like neither), "far" along a direction no family uses. One surface form for all: only the embedding tells."""

    id = "twin-test-encoder"
    dim = DIM

    def __init__(self) -> None:
        basis = np.linalg.qr(np.random.default_rng(1).normal(size=(DIM, DIM)))[0]
        self.centers = {f: basis[i] for i, f in enumerate(TRAIN)}
        self.centers["mix"] = (basis[2] + basis[3]) / np.sqrt(2.0)
        self.centers["twin"] = (basis[0] + basis[1]) / np.sqrt(2.0)
        self.centers["far"] = basis[len(TRAIN)]

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            family = text.split(" ")[0]
            v = self.centers[family] + np.random.default_rng(zlib.crc32(text.encode())).normal(scale=0.2, size=DIM)
            out[i] = v / np.linalg.norm(v)
        return out


def auroc(neg: np.ndarray, pos: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.zeros(len(neg)), np.ones(len(pos))], np.r_[neg, pos]))


def fitted(views: tuple[str, ...], n: int = 200) -> tuple[NoveltyModel, TwinEncoder]:
    enc = TwinEncoder()
    texts = [f"{f} {i:05d}" for f in TRAIN for i in range(n)]
    tasks = [f for f in TRAIN for _ in range(n)]
    y = np.random.default_rng(0).uniform(size=(len(texts), 2))
    val = np.arange(len(texts)) % 5 == 0
    model = fit_novelty(enc.encode(texts), texts, tasks, y, ["a", "b"], val, None, detector_views=views)
    assert model is not None
    return model, enc


@pytest.fixture(scope="module")
def new_and_old() -> tuple[NoveltyModel, NoveltyModel, TwinEncoder]:
    new, enc = fitted(EMBEDDING_VIEWS)
    old, _ = fitted(LEGACY_VIEWS)
    return new, old, enc


def test_every_new_view_grows_under_a_synthetic_shift() -> None:
    enc = TwinEncoder()
    texts = [f"{f} {i:05d}" for f in TRAIN for i in range(200)]
    fit = np.arange(len(texts)) % 5 != 0
    rows = _Views(enc.encode(texts).astype(np.float64), surface_features(texts),
                  np.array([t.split()[0] for t in texts]), texts)
    new = fit_detector(rows, fit, ~fit, None, ["a"], np.array([0.5]), EMBEDDING_VIEWS)  # every view, equal weights
    assert new.views == EMBEDDING_VIEWS
    ident = [f"{f} {i:05d}" for f in TRAIN for i in range(900, 960)]  # unseen texts of the training families
    for shifted in ("twin", "far"):
        novel = [f"{shifted} {i:05d}" for i in range(200)]
        v_id, v_novel = new.view_values(enc.encode(ident), ident), new.view_values(enc.encode(novel), novel)
        for j, view in enumerate(new.views):
            if view == "surf":  # the same surface form by construction
                continue
            if shifted == "far" and view == "ent":  # between no families: the classifier may be sure of a wrong one
                continue
            assert np.median(v_novel[:, j]) > np.percentile(v_id[:, j], 75), (shifted, view)


def test_learned_combination_beats_the_format_1_detector_on_a_near_twin_family(
        new_and_old: tuple[NoveltyModel, NoveltyModel, TwinEncoder]) -> None:
    new, old, enc = new_and_old
    ident = [f"{f} {i:05d}" for f in TRAIN for i in range(900, 960)]
    twin = [f"twin {i:05d}" for i in range(200)]
    x_id, x_twin = enc.encode(ident), enc.encode(twin)
    a_new = auroc(new.raw(x_id, ident), new.raw(x_twin, twin))
    a_old = auroc(old.raw(x_id, ident), old.raw(x_twin, twin))
    assert a_new > a_old + 0.04 and a_new > 0.9, (a_new, a_old)
    # outlier exposure puts weight on at least one of the new views, none on a negative direction
    w = new.info["learned_weights"]
    assert set(w) == set(EMBEDDING_VIEWS) and min(w.values()) >= 0 and abs(sum(w.values()) - 1) < 1e-9
    assert w["rel"] + w["ent"] + w["bank"] > 0.2, w
    assert new.views == tuple(v for v in EMBEDDING_VIEWS if w[v] > 0)  # unweighted views are not kept


def test_bank_sees_a_query_no_training_query_is_near_even_at_its_family_mean() -> None:
    # family "ring": queries on a circle around a direction, so its mean is typical for a Gaussian but holds no query
    d, rng = 8, np.random.default_rng(0)
    angles = rng.uniform(0.0, 2 * np.pi, 1000)
    ring = np.zeros((1000, d))
    ring[:, 0], ring[:, 1], ring[:, 2] = 1.0, np.cos(angles), np.sin(angles)
    other = np.zeros((50, d))
    other[:, 3] = 1.0
    other[:, 4:] = rng.normal(scale=0.3, size=(50, d - 4))
    x = np.vstack([ring, other]) / np.sqrt(2.0)
    fam = np.array(["ring"] * 1000 + ["other"] * 50)
    t = fit_view_tensors(x, fam, ["other", "ring"], ("bank",))
    assert t["bank"].shape == (BANK_PER_FAMILY + 50, d)  # at most BANK_PER_FAMILY queries of a large family
    assert np.allclose(np.linalg.norm(t["bank"], axis=1), 1.0)
    centre = x[:1000].mean(axis=0, keepdims=True)  # the ring's mean: no training query lies near it
    seen, mean = view_values(t, np.vstack([x[:5], centre]), np.zeros((6, 0)), ("bank",))[:, 0][[0, 5]]
    assert mean > seen + 5.0, (seen, mean)  # log cosine distance: ≈ 0.29 against ≤ 1e-4 for a training query
    # what the family Gaussian alone says: the mean is the most typical point of the ring family
    w, m = whitening(x, fam, ["other", "ring"])
    assert family_distance(centre, w, m)[0] < np.median(family_distance(x[:1000], w, m))


def test_calibration_flags_about_the_nominal_share(new_and_old: tuple[NoveltyModel, NoveltyModel,
                                                                      TwinEncoder]) -> None:
    new, _, enc = new_and_old
    ident = [f"{f} {i:05d}" for f in TRAIN for i in range(1000, 1400)]
    flagged = float((new.score(enc.encode(ident), ident) >= 0.95).mean())
    assert 0.02 <= flagged <= 0.09, flagged


@pytest.fixture(scope="module")
def scorer() -> tuple[TrainedScorer, LookupEncoder]:
    encoder = LookupEncoder()
    trained, _ = train_scorer(make_table(n=300), kind="knn", encoder=encoder, encoder_spec=None,
                              config=TrainConfig(kind="knn", progress=False), progress=False)
    return trained, encoder


def test_round_trip_keeps_every_view(scorer: tuple[TrainedScorer, LookupEncoder], tmp_path: Path) -> None:
    trained, encoder = scorer
    assert trained.novelty is not None and set(trained.novelty.views) >= {"rel", "bank"}
    path = trained.save(tmp_path / "ckpt")
    cfg = json.loads((path / "config.json").read_text())["novelty"]
    assert cfg["format"] == 2 and cfg["views"] == list(trained.novelty.views)
    loaded = TrainedScorer.load(path, encoder=encoder)
    texts = [f"alpha {i:05d}" for i in range(900, 920)] + [f"unseen {i:05d}" for i in range(20)]
    np.testing.assert_allclose(loaded.novelty_scores(texts), trained.novelty_scores(texts), atol=1e-6)


def as_format_1(novelty: dict[str, Any]) -> dict[str, Any]:
    """A format-2 entry of the two legacy views rewritten as a format-1 checkpoint wrote it: w (v − c) / s is
    (w / s) · log(distance / e^c), so the same raw scores and calibration."""
    out = {k: v for k, v in novelty.items() if k not in ("format", "views", "centers", "scales")}
    out["method"] = "mahalanobis-embedding+surface"
    out["medians"] = [float(np.exp(c)) for c in novelty["centers"]]
    out["weights"] = [w / s for w, s in zip(novelty["weights"], novelty["scales"], strict=True)]
    return out


def test_format_1_checkpoints_load_and_score_as_before(scorer: tuple[TrainedScorer, LookupEncoder],
                                                       tmp_path: Path) -> None:
    from dataclasses import replace

    from router_plugins.scorer.pipeline import train_novelty

    trained, encoder = scorer
    table = make_table(n=300)
    x = encoder.encode(list(table.texts))
    cfg = TrainConfig(kind="knn", progress=False)
    legacy = trained.with_predictor(trained.predictor)
    legacy.novelty = train_novelty(x, table, replace(cfg, novelty_views=LEGACY_VIEWS))
    assert legacy.novelty is not None and legacy.novelty.views == LEGACY_VIEWS
    path = legacy.save(tmp_path / "ckpt")
    cfg_file = path / "config.json"
    config = json.loads(cfg_file.read_text())
    config["novelty"] = as_format_1(config["novelty"])
    cfg_file.write_text(json.dumps(config))
    loaded = TrainedScorer.load(path, encoder=encoder)
    assert loaded.novelty is not None and loaded.novelty.views == LEGACY_VIEWS and loaded.novelty.scales == (1.0, 1.0)
    texts = [f"beta {i:05d}" for i in range(900, 920)] + [f"unseen {i:05d}" for i in range(20)]
    np.testing.assert_allclose(loaded.novelty_scores(texts), legacy.novelty_scores(texts), atol=1e-6)
    # the format-1 formula, written out: w · log(distance / median) of each view
    nov, xs = loaded.novelty, encoder.encode(texts)
    logs = nov.view_values(xs, texts)
    by_hand = sum(w * (logs[:, j] - np.log(m)) for j, (w, m) in enumerate(zip(config["novelty"]["weights"],
                                                                              config["novelty"]["medians"])))
    np.testing.assert_allclose(nov.raw(xs, texts), by_hand, atol=1e-9)


def test_the_shipped_default_checkpoint_still_loads_and_scores() -> None:
    from router_plugins.scorer.trained_scorer import DEFAULT_CHECKPOINT

    if not (DEFAULT_CHECKPOINT / "config.json").is_file():
        pytest.skip("no default checkpoint in this checkout")
    config = json.loads((DEFAULT_CHECKPOINT / "config.json").read_text())["novelty"]
    from router_plugins.scorer.trained_scorer import load_default_scorer

    scorer = load_default_scorer()
    nov = scorer.novelty
    assert nov is not None
    if config.get("format", 1) == 1:
        assert nov.views == LEGACY_VIEWS
        np.testing.assert_allclose(np.exp(nov.centers), config["medians"], rtol=1e-12)
    texts = ["What is the capital of France?", "def add(a, b):\n    return a + b", "Solve 2x + 3 = 7 for x."]
    scores = scorer.novelty_scores(texts)
    assert scores is not None and ((scores >= 0) & (scores <= 1)).all()


@pytest.mark.parametrize("edit, message", [
    (lambda n: n.update(format=99), "format 99"),
    (lambda n: n.update(format=True), "format True"),
    (lambda n: n.update(format="2"), "format '2'"),
    (lambda n: n.update(views=["emb", "surf", "rm -rf"]), "views must be distinct names"),
    (lambda n: n.update(views=["emb", "emb"], weights=[0.5, 0.5], centers=[0, 0], scales=[1, 1]), "distinct"),
    (lambda n: n.update(views="emb"), "list of names"),
    (lambda n: n.update(views=["emb", "surf"], weights=[0.5, 0.5], centers=[0, 0], scales=[1, 1]), None),
    (lambda n: n.update(scales=[1e308] * (len(n["views"]) - 1) + [float("nan")]), "scales"),
    (lambda n: n.pop("centers"), "malformed novelty"),
    (lambda n: n.update(weights=[True] * len(n["views"])), "one finite number per view"),
])
def test_malformed_format_2_entries_are_refused(scorer: tuple[TrainedScorer, LookupEncoder], tmp_path: Path,
                                                edit: Any, message: str | None) -> None:
    trained, encoder = scorer
    path = trained.save(tmp_path / "ckpt")
    cfg_file = path / "config.json"
    cfg = json.loads(cfg_file.read_text())
    edit(cfg["novelty"])
    cfg_file.write_text(json.dumps(cfg))
    if message is None:  # fewer views than stored tensors: a consistent, smaller detector, still valid
        assert TrainedScorer.load(path, encoder=encoder).novelty.views == ("emb", "surf")  # type: ignore[union-attr]
        return
    with pytest.raises(CheckpointError, match=message):
        TrainedScorer.load(path, encoder=encoder)


def test_view_tensors_of_the_wrong_shape_are_refused(scorer: tuple[TrainedScorer, LookupEncoder]) -> None:
    trained, _ = scorer
    nov = trained.novelty
    assert nov is not None
    tensors = {f"novelty/{k}": v for k, v in nov.tensors.items()}
    for key, bad in (("bank", np.zeros((3, 5), np.float32)), ("glob_whiten", np.zeros((2, 2), np.float32)),
                     ("bank", np.zeros((0, nov.tensors["bank"].shape[1]), np.float32))):
        with pytest.raises(CheckpointError, match=key):
            NoveltyModel.from_checkpoint(nov.config(), {**tensors, f"novelty/{key}": bad},
                                         nov.tensors["emb_whiten"].shape[0])
    missing = {k: v for k, v in tensors.items() if k != "novelty/clf_coef"}
    if "ent" in nov.views:
        with pytest.raises(CheckpointError, match="clf_coef"):
            NoveltyModel.from_checkpoint(nov.config(), missing, nov.tensors["emb_whiten"].shape[0])


@pytest.mark.parametrize("views", [("emb", "evil"), ()])
def test_unknown_or_no_views_are_a_config_error(views: tuple[str, ...]) -> None:
    from router_plugins.errors import ConfigError

    texts = [f"{f} {i:05d}" for f in TRAIN for i in range(20)]
    val = np.arange(len(texts)) % 5 == 0
    with pytest.raises(ConfigError, match="novelty view"):
        fit_novelty(TwinEncoder().encode(texts), texts, [t.split()[0] for t in texts], np.zeros((len(texts), 2)),
                    ["a", "b"], val, None, detector_views=views)
    assert TrainConfig(novelty_views=views).as_dict()["novelty_views"] == list(views)


def test_each_held_out_family_weighs_the_same_in_the_combination() -> None:
    """One large held-out family is told apart by view 0, ten small ones by view 1: pooled rows follow the large
    family, per-family weighting follows the majority of families."""
    from router_plugins.scorer._novelty_fit import nonnegative_logistic

    rng = np.random.default_rng(3)
    feats, labels, groups = [], [], []
    for g, (n, view) in enumerate([(2000, 0)] + [(20, 1)] * 10):
        neg = rng.normal(size=(200, 2))
        pos = rng.normal(size=(n, 2))
        pos[:, view] += 3.0
        feats += [neg, pos]
        labels += [np.zeros(200), np.ones(n)]
        groups += [np.full(200 + n, g)]
    x, y, grp = np.vstack(feats), np.concatenate(labels), np.concatenate(groups)
    pooled = nonnegative_logistic(x, y)
    per_family = nonnegative_logistic(x, y, groups=grp)
    assert pooled[0] > pooled[1] and per_family[1] > per_family[0], (pooled, per_family)
