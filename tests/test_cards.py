from __future__ import annotations

from pathlib import Path

import pytest

from router_plugins import ConfigError, EmptyPoolError, ModelCard, ModelPool, UnknownModelError


def test_card_cost_and_prior() -> None:
    card = ModelCard(name="m", input_price=2.0, output_price=4.0, output_tokens=100, quality={"math": 0.8, "*": 0.5})
    assert card.cost_usd(1_000_000, 0) == pytest.approx(2.0)
    assert card.cost_usd(0) == pytest.approx(4.0 * 100 / 1e6)
    assert card.prior_quality("math") == 0.8
    assert card.prior_quality("code") == 0.5
    assert ModelCard(name="n").prior_quality() is None


@pytest.mark.parametrize(
    ("card", "field"),
    [
        ({"name": "a", "colour": "red"}, "colour: unknown field"),
        ({"name": "a", "input_price": -1}, "input_price"),
        ({"name": "a", "output_price": -0.5}, "output_price"),
        ({"name": "a", "quality": 1.5}, "quality"),
        ({"name": ""}, "name"),
        ({"input_price": 1}, "name"),
    ],
)
def test_invalid_card_names_the_field(card: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        ModelPool([card])


def test_pool_rejects_duplicates_and_empty() -> None:
    with pytest.raises(ConfigError, match="duplicate model name 'a'"):
        ModelPool([{"name": "a"}, {"name": "a"}])
    with pytest.raises(EmptyPoolError, match="empty"):
        ModelPool([])
    with pytest.raises(EmptyPoolError):
        ModelPool.from_dict({"models": []})


def test_unknown_model_lists_valid_names(pool: ModelPool) -> None:
    with pytest.raises(UnknownModelError, match="small, mid, big"):
        pool["gpt-9"]
    assert pool.index("big") == 2
    assert pool.most_expensive().name == "big" and pool.cheapest().name == "small"


TOML = """
[[models]]
name = "small"
input_price = 0.1
output_price = 0.2
quality = 0.6
tags = ["local"]

[[models]]
name = "big"
provider = "openai"
model = "gpt-4o"
input_price = 2.5
output_price = 10
[models.quality]
math = 0.9
"*" = 0.8
"""

YAML = """
models:
  - name: small
    input_price: 0.1
    output_price: 0.2
    quality: 0.6
    tags: [local]
  - name: big
    provider: openai
    model: gpt-4o
    input_price: 2.5
    output_price: 10
    quality: {math: 0.9, "*": 0.8}
"""


@pytest.mark.parametrize(("suffix", "text"), [(".toml", TOML), (".yaml", YAML), (".yml", YAML)])
def test_pool_from_file(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"pool{suffix}"
    path.write_text(text)
    pool = ModelPool.from_file(path)
    assert pool.names == ("small", "big")
    assert pool["big"].prior_quality("math") == 0.9
    assert pool["small"].tags == ("local",)


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("bad.toml", "[[models]\nname=", "malformed"),
        ("bad.yaml", "models: [name: : :", "malformed"),
        ("pool.json", "{}", "unsupported extension"),
        ("extra.toml", 'other = 1\n[[models]]\nname = "a"\n', "unknown top-level"),
        ("nomodels.yaml", "foo: []\n", "unknown top-level"),
        ("empty.yaml", "", "no 'models' list"),
        ("neg.toml", '[[models]]\nname = "a"\ninput_price = -2\n', "input_price"),
    ],
)
def test_malformed_pool_files(tmp_path: Path, name: str, text: str, match: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        ModelPool.from_file(path)


def test_missing_pool_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        ModelPool.from_file(tmp_path / "nope.toml")


def test_a_per_task_quality_table_without_a_default_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        ModelPool([ModelCard(name="m", quality={"math": 0.9, "default": 0.8})])
    assert "without a '*' default" in caplog.text and "use '*'" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        ModelPool([ModelCard(name="m", quality={"math": 0.9, "*": 0.8})])
    assert caplog.text == ""
