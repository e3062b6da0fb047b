"""Shared fixtures: an isolated HOME/cache per test, no third-party plugins, and tiny pools built in memory."""

from __future__ import annotations


import pytest

from router_plugins import ModelCard, ModelPool



@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("HF_HOME", str(home / ".cache" / "huggingface"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("ROUTER_PLUGINS_LOAD", "")


@pytest.fixture
def pool() -> ModelPool:
    """Three models: cheap/weak, mid, expensive/strong."""
    return ModelPool(
        [
            ModelCard(name="small", input_price=0.1, output_price=0.2, quality=0.55, latency_s=0.5),
            ModelCard(name="mid", input_price=1.0, output_price=2.0, quality=0.75, latency_s=1.0),
            ModelCard(name="big", input_price=10.0, output_price=30.0, quality=0.9, latency_s=2.0),
        ]
    )
