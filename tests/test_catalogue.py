"""Prices of known hosted models come from the bundled genai-prices catalogue when a card omits them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from router_plugins import ModelCard, ModelPool
from router_plugins.cli import _load_commands, cli

pytest.importorskip("genai_prices")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the catalogue tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_known_hosted_models_get_catalogue_prices_and_context() -> None:
    pool = ModelPool([ModelCard(name="gpt-4o"), ModelCard(name="sonnet", model="claude-3-5-sonnet-latest",
                                                          provider="anthropic")])
    gpt = pool["gpt-4o"]
    assert (gpt.input_price, gpt.output_price, gpt.context_window) == (2.5, 10.0, 128_000)
    assert pool["sonnet"].output_price == 15.0 and pool["sonnet"].context_window == 200_000
    assert pool.price_source("gpt-4o") == "genai-prices"


def test_explicit_card_values_win_and_unknown_models_keep_defaults() -> None:
    pool = ModelPool([ModelCard(name="gpt-4o", input_price=1.0, context_window=1000), ModelCard(name="my-model"),
                      ModelCard(name="gpt-4o-mini", context_window=4096),
                      ModelCard(name="local-gpt", model="gpt-4o", provider="local_hf")])
    assert (pool["gpt-4o"].input_price, pool["gpt-4o"].output_price, pool["gpt-4o"].context_window) == (1.0, 0.0, 1000)
    assert pool.price_source("gpt-4o") == "card"
    assert pool["my-model"].input_price == 0.0 and pool.price_source("my-model") == "default (0)"
    assert pool["gpt-4o-mini"].input_price > 0 and pool["gpt-4o-mini"].context_window == 4096
    assert pool["local-gpt"].input_price == 0.0  # a local model is never priced as the hosted one
    assert pool.subset(["gpt-4o-mini"]).price_source("gpt-4o-mini") == "genai-prices"


def test_models_command_shows_where_each_price_came_from(tmp_path: Path) -> None:
    pool = tmp_path / "pool.toml"
    pool.write_text('[[models]]\nname = "gpt-4o"\n\n[[models]]\nname = "mine"\ninput_price = 1\n', encoding="utf-8")
    _load_commands()
    out = CliRunner().invoke(cli, ["models", "--pool", str(pool)])
    assert out.exit_code == 0, out.output
    lines = {line.split()[0]: line for line in out.output.splitlines()[1:]}
    assert "genai-prices" in lines["gpt-4o"] and "128000" in lines["gpt-4o"]
    assert " card " in lines["mine"]
