"""The template views of the novelty detector (``edge``: the query's opening and closing words under the training
prompts; ``tmpl``: the same against the best-fitting family's own template; ``cross``: against the template of the
family its embedding points to): a new template is novel whatever its topic, a family without a template is not, one
family's content in another's template is, hostile text costs no more than its edges, and malformed stored counts are
refused."""

from __future__ import annotations

import numpy as np
import pytest

from router_plugins.errors import CheckpointError
from router_plugins.scorer._novelty_edges import (EDGE_CHARS, edge_keys, edge_surprise, family_edge_excess, fit_edges,
                                                  fit_family_edges)
from router_plugins.scorer.novelty import NoveltyModel
from router_plugins.scorer.novelty_training import fit_novelty


def tmpl_view(keys: np.ndarray, counts: np.ndarray, median: np.ndarray, query_keys: np.ndarray) -> np.ndarray:
    """The ``tmpl`` view: the excess over the family whose template fits best."""
    return family_edge_excess(keys, counts, median, query_keys).min(axis=1)


WORDS = ["apple", "river", "stone", "cloud", "lamp", "violin", "garden", "rocket", "pencil", "ocean", "tiger", "marble",
         "candle", "forest", "bridge", "mirror", "planet", "button", "desert", "harbor"]


def words(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(WORDS, n))


def family_texts(family: str, n: int, seed: int) -> list[str]:
    """Queries of a few prompt templates; ``bare`` has no template (random words at both ends)."""
    rng = np.random.default_rng(seed)
    make = {"code": lambda: f"def solve_{words(rng, 1)}(x):\n    \"\"\"{words(rng, 8)}\"\"\"\n",
            "math": lambda: f"{words(rng, 12)}. After careful thought, put your final answer in \\boxed{{...}}.",
            "quiz": lambda: f"Question: {words(rng, 10)}?\nA) {words(rng, 1)} B) {words(rng, 1)}\nAnswer:",
            "bare": lambda: words(rng, 9),
            "new": lambda: f"Write a function to {words(rng, 10)}"}[family]
    return [make() for _ in range(n)]


TRAIN = ("code", "math", "quiz", "bare")


def test_a_new_template_is_surprising_whatever_its_topic_and_a_bare_family_is_not() -> None:
    train = [t for f in TRAIN for t in family_texts(f, 150, 1)]
    index = np.repeat(np.arange(len(TRAIN)), 150)
    keys, counts = fit_edges(train)
    f_keys, f_counts, median = fit_family_edges(train, index, len(TRAIN))
    ident = {f: family_texts(f, 60, 2) for f in TRAIN}
    new = family_texts("new", 60, 3)  # the same topic words as every family, a template none uses
    pooled_new = edge_surprise(keys, counts, edge_keys(new))
    family_new = tmpl_view(f_keys, f_counts, median, edge_keys(new))
    for f, texts in ident.items():
        if f != "bare":  # bare openings are random words: the pooled view finds them as surprising as a new template
            assert np.median(pooled_new) > np.percentile(edge_surprise(keys, counts, edge_keys(texts)), 90), f
        # the per-family view compares each query with the family whose template fits it best: bare is typical too
        typical = tmpl_view(f_keys, f_counts, median, edge_keys(texts))
        assert np.median(family_new) > np.percentile(typical, 90), f
    bare = tmpl_view(f_keys, f_counts, median, edge_keys(ident["bare"]))
    assert abs(float(np.median(bare))) < 0.25 * float(np.median(family_new)), (np.median(bare), np.median(family_new))


def test_only_the_edges_of_a_hostile_text_are_read() -> None:
    head, tail = "Write a function to " + "x" * 10, " and return it." + "y" * 5
    huge = head + ("lorem ipsum " * 200_000) + tail  # 2.4 MB
    short = head + " " * EDGE_CHARS + tail
    np.testing.assert_array_equal(edge_keys([huge]), edge_keys([short]))
    odd = ["", " ", "\ud800\udfff lone surrogates", "\x00\x1b[31m", "日本語のテキスト"]  # none may raise
    keys, counts = fit_edges(odd)
    assert np.isfinite(edge_surprise(keys, counts, edge_keys(odd + [huge]))).all()
    f_keys, f_counts, median = fit_family_edges(odd, np.zeros(len(odd), dtype=np.int64), 1)
    assert np.isfinite(tmpl_view(f_keys, f_counts, median, edge_keys(odd + [huge]))).all()


def test_the_edge_views_are_learned_and_lift_a_new_template_family() -> None:
    texts = [t for f in TRAIN for t in family_texts(f, 120, 4)]
    tasks = [f for f in TRAIN for _ in range(120)]
    x = np.random.default_rng(5).normal(size=(len(texts), 8))  # embeddings that say nothing about the family
    val = np.arange(len(texts)) % 5 == 0
    model = fit_novelty(x, texts, tasks, np.random.default_rng(6).uniform(size=(len(texts), 2)), ["a", "b"], val,
                        None, detector_views=("emb", "edge", "tmpl"))
    assert model is not None
    w = model.info["learned_weights"]
    assert set(w) == {"emb", "edge", "tmpl"} and w["edge"] + w["tmpl"] > 0.5, w
    # the detector keeps the views the folds weighted, and only those
    assert model.views == tuple(v for v in ("emb", "edge", "tmpl") if w[v] > 0)
    assert model.weights == tuple(w[v] for v in model.views)
    ident = [t for f in TRAIN for t in family_texts(f, 40, 7)]
    new = family_texts("new", 40, 8)
    rng = np.random.default_rng(9)
    s_id, s_new = model.score(rng.normal(size=(len(ident), 8)), ident), model.score(rng.normal(size=(40, 8)), new)
    assert np.median(s_new) > 0.95 and float((s_id >= 0.95).mean()) < 0.15, (np.median(s_new), (s_id >= 0.95).mean())


def test_content_of_one_family_in_the_template_of_another_is_novel_under_cross() -> None:
    """The embedding says "quiz", the template says "code": each family's own template fits (tmpl sees nothing), the
    template the embedding points to does not (cross does)."""
    rng = np.random.default_rng(12)
    centers = np.eye(8)[: len(TRAIN)] * 3.0

    def embed(families: list[str]) -> np.ndarray:
        return np.stack([centers[TRAIN.index(f)] for f in families]) + rng.normal(scale=0.3, size=(len(families), 8))

    texts = [t for f in TRAIN for t in family_texts(f, 120, 13)]
    tasks = [f for f in TRAIN for _ in range(120)]
    val = np.arange(len(texts)) % 5 == 0
    model = fit_novelty(embed(tasks), texts, tasks, np.zeros((len(texts), 2)), ["a", "b"], val, None,
                        detector_views=("tmpl", "cross"))
    assert model is not None and model.views == ("tmpl", "cross")
    ident = [t for f in TRAIN for t in family_texts(f, 40, 14)]
    x_id = embed([f for f in TRAIN for _ in range(40)])
    mixed = family_texts("code", 40, 15)  # code's template ...
    x_mixed = embed(["quiz"] * 40)  # ... around quiz content
    v_id, v_mixed = model.view_values(x_id, ident), model.view_values(x_mixed, mixed)
    tmpl, cross = model.views.index("tmpl"), model.views.index("cross")
    assert np.median(v_mixed[:, tmpl]) < np.percentile(v_id[:, tmpl], 75)  # a known template
    assert np.median(v_mixed[:, cross]) > np.percentile(v_id[:, cross], 95)  # in the wrong family


@pytest.mark.parametrize("view, key, bad, message", [
    ("edge", "edge_keys", lambda k: k[::-1].copy(), "strictly increasing"),
    ("edge", "edge_keys", lambda k: k + 2 ** 24, "24-bit"),
    ("edge", "edge_counts", lambda c: np.zeros_like(c), "counts"),
    ("edge", "edge_counts", lambda c: c[:-1], "shape"),
    ("tmpl", "tmpl_keys", lambda k: k + 0.5, "24-bit"),
    ("tmpl", "tmpl_median", lambda m: np.r_[m, 0.0], "shape"),
    ("tmpl", "tmpl_median", lambda m: m * np.nan, "NaN"),
    ("cross", "tmpl_keys", lambda k: k[::-1].copy(), "strictly increasing"),
    ("cross", "clf_coef", lambda c: c[:, :-1], "shape"),
])
def test_malformed_edge_counts_are_refused(view: str, key: str, bad, message: str) -> None:
    texts = [t for f in TRAIN for t in family_texts(f, 40, 10)]
    tasks = [f for f in TRAIN for _ in range(40)]
    val = np.arange(len(texts)) % 5 == 0
    model = fit_novelty(np.random.default_rng(0).normal(size=(len(texts), 4)), texts, tasks,
                        np.zeros((len(texts), 2)), ["a", "b"], val, None, detector_views=("emb", view))
    assert model is not None and view in model.views
    tensors = {f"novelty/{k}": v for k, v in model.tensors.items()}
    tensors[f"novelty/{key}"] = np.asarray(bad(model.tensors[key]), dtype=np.float32)
    with pytest.raises(CheckpointError, match=message):
        NoveltyModel.from_checkpoint(model.config(), tensors, 4)
    # the untouched tensors load and score as fitted
    good = NoveltyModel.from_checkpoint(model.config(), model.prefixed_tensors(), 4)
    probe = family_texts("new", 5, 11)
    xs = np.random.default_rng(1).normal(size=(5, 4))
    np.testing.assert_allclose(good.raw(xs, probe), model.raw(xs, probe), atol=1e-6)
