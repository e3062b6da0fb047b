"""Fixtures for the adapter tests: offline HOME/caches and a router that plans from directives in the query."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("langgraph")

from lg_fakes import Directives, FakeModels, make_cards  # noqa: E402

from router_plugins.router import Router  # noqa: E402


@pytest.fixture(autouse=True)
def _offline_home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the user's home, caches and the network."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("LANGSMITH_TRACING", "false")
    monkeypatch.delenv("LANGCHAIN_TRACING_V2", raising=False)


@pytest.fixture
def router() -> Router:
    """Plans from directives in the query text; fake chat models."""
    return Router(make_cards(), plugins=[FakeModels(), Directives()], load_entrypoints=False, modes=["full"])


