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
    assert card.prior_quality("math/algebra") == 0.8 and card.prior_quality("mathematics") == 0.5  # prefix backoff
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


def test_per_task_keys_no_plugin_knows_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    # issue 16.5: a key that matches no task a plugin knows is a typo (or 'default' for '*'), named with a suggestion
    import logging

    from router_plugins import Router
    from router_plugins.hookspecs import hookimpl

    class Tasks:
        @hookimpl
        def register_tasks(self, register: object) -> None:
            for task in ("gsm8k", "mmlu/astronomy", "human_eval"):
                register(task)  # type: ignore[operator]

    cards = [ModelCard(name="a", quality={"gsm8k": 0.9, "mmlu": 0.7, "*": 0.5}),
             ModelCard(name="b", quality={"gsm8kk": 0.9, "default": 0.6, "*": 0.5})]
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        router = Router(cards, plugins=[Tasks()], load_entrypoints=False)
    assert {"gsm8k", "mmlu/astronomy"} <= router.known_tasks
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "'b'" in lines[0]  # 'mmlu' is the prefix of a known task: card a is fine
    assert "'gsm8kk' (did you mean 'gsm8k'?)" in lines[0] and "'default' (use '*' for the default)" in lines[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        Router(cards, load_entrypoints=False, disable_plugins=["router_plugins.scorer.plugin"])
    assert "no scorer knows" not in caplog.text  # nothing declares tasks: nothing to check against


def test_the_shipped_scorer_declares_its_training_tasks(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    pytest.importorskip("model2vec")
    from router_plugins.scorer.plugin import known_models

    from router_plugins import Router

    model = min(known_models())
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        router = Router([ModelCard(name=model, quality={"gsm8k": 0.9, "gms8k": 0.8, "*": 0.5})], load_entrypoints=False)
    assert {"gsm8k", "mmlu", "human_eval"} <= router.known_tasks
    assert "'gms8k' (did you mean 'gsm8k'?)" in caplog.text and "'gsm8k'," not in caplog.text
