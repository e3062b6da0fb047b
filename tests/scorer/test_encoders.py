"""Encoders and the embedding cache: cache under the env-chosen dir, reuse without re-encoding, lazy heavy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from router_plugins.scorer.embedding_cache import cache_dir
from router_plugins.scorer.encoders import CachedEncoder

DEFAULT_CKPT = Path(__file__).resolve().parents[2] / "scorer" / "checkpoints" / "default"


def test_cache_dir_respects_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ROUTER_PLUGINS_CACHE", raising=False)
    assert cache_dir() == tmp_path / "xdg" / "router-plugins"
    monkeypatch.setenv("ROUTER_PLUGINS_CACHE", str(tmp_path / "explicit"))
    assert cache_dir() == tmp_path / "explicit"


class Counting:
    id = "counting-v1"
    dim = 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen += texts
        return np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], dtype=np.float32)


def test_cache_memory_and_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_PLUGINS_CACHE", str(tmp_path / "c"))
    inner = Counting()
    enc = CachedEncoder(inner)
    first = enc.encode(["a", "bb", "a"])
    assert inner.seen == ["a", "bb"]  # duplicates encoded once
    enc.encode(["bb", "a"])
    assert inner.seen == ["a", "bb"]
    assert list((tmp_path / "c" / "embeddings").rglob("shard-*.npz"))
    fresh_inner = Counting()
    again = CachedEncoder(fresh_inner).encode(["a", "bb", "a"])  # a new process would read the shards
    assert fresh_inner.seen == [] and np.allclose(first, again)
    memory_only = CachedEncoder(Counting(), persist=False, directory=tmp_path / "m")
    memory_only.encode(["x"])
    assert not (tmp_path / "m").exists()


def test_transformer_encoder_is_normalised_and_left_truncates(tiny_encoder: object) -> None:
    x = tiny_encoder.encode(["add numbers", "write poem " * 100])
    assert x.shape == (2, 32) and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)


def test_import_is_light() -> None:
    code = ("import sys, router_plugins, router_plugins.scorer.plugin, router_plugins.scorer.trained_scorer; "
            "bad = [m for m in ('torch', 'transformers', 'sklearn', 'model2vec') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(not (DEFAULT_CKPT / "config.json").is_file(), reason="default checkpoint not built")
def test_default_scorer_loads_and_scores_any_pool() -> None:
    from router_plugins import ModelCard, Router
    from router_plugins.scorer.plugin import ScorerPlugin

    plugin = ScorerPlugin.default()
    pool = [ModelCard(name="small", input_price=0.1, output_price=0.1, size_b=7),
            ModelCard(name=plugin.scorer.models[0], input_price=0.2, output_price=0.2)]
    router = Router(pool, plugins=[plugin], load_entrypoints=False)
    plan = router.plan("What is 17 * 23?")
    assert plan.roles[0].model in {"small", plugin.scorer.models[0]} and not plan.fallback
