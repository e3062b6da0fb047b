"""Hostile or malformed input gets a typed RouterError naming the problem, never an untyped traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from router_plugins import ConfigError, ModelCard, ModelPool, Plan, QueryError, Role, RoleAssignment, Router
from router_plugins.cli import _load_commands, cli
from router_plugins.errors import UnknownModelError


def _router() -> Router:
    return Router([ModelCard(name="a", quality=0.5), ModelCard(name="b", quality=0.7, input_price=1.0)],
                  load_entrypoints=False, disable_plugins=["router_plugins.scorer.plugin"])


def test_roles_that_are_not_roles_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="Role objects"):
        _router().plan("q", [42])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"input_price": -1}, "input_price"),
        ({"quality": 1.5}, "quality"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "unknown field"),
        ({"input_price": float("inf")}, "finite"),
        ({"output_price": 1e308}, "less than or equal"),
        ({"name": "evil\nINFO: forged log line"}, "printable"),
        ({"name": "gpt\u202e4-ecnavda"}, "printable"),
        ({"name": "\x1b[31mred"}, "printable"),
    ],
)
def test_bad_model_cards_are_config_errors(fields: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        ModelCard(**{"name": "m", **fields})  # type: ignore[arg-type]
    assert isinstance(err.value, ValueError)  # still a ValueError, as pydantic's was


def test_a_lone_surrogate_query_is_a_query_error_even_when_failing_open() -> None:
    with pytest.raises(QueryError, match="not valid Unicode"):
        _router().plan("x\ud800")


def test_negative_role_tokens_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="prompt_tokens"):
        Role("r", prompt_tokens=-5)
    with pytest.raises(ConfigError, match="output_tokens"):
        Role("r", output_tokens=0)


def test_a_non_utf8_pool_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    pool = tmp_path / "pool.toml"
    pool.write_bytes(b'[[models]]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        ModelPool.from_file(pool)
    _load_commands()
    main_result = CliRunner().invoke(cli, ["models", "--pool", str(pool)])
    assert main_result.exit_code == 2 and "not UTF-8" in main_result.output
    assert "Traceback" not in main_result.output


def _plan_dict() -> dict[str, object]:
    return json.loads(Plan("single", (RoleAssignment("solver", "a"),)).to_json())


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.pop("signature"),
        lambda d: d["roles"][0].update(samples="many"),
        lambda d: d["roles"][0].update(model="b"),  # edited without fixing the signature
        lambda d: d.update(metadata=None),
        lambda d: d.update(cost_usd=-1.0),
        lambda d: d.update(roles=None),
        lambda d: d["roles"].append(None),
    ],
)
def test_edited_or_malformed_plans_are_config_errors(edit: object) -> None:
    data = _plan_dict()
    edit(data)  # type: ignore[operator]
    with pytest.raises(ConfigError):
        Plan.from_dict(data)


def test_deeply_nested_plan_json_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="malformed"):
        Plan.from_json("[" * 100_000 + "]" * 100_000)


def test_loading_a_plan_with_a_pool_checks_its_models() -> None:
    text = Plan("single", (RoleAssignment("solver", "a"),)).to_json()
    assert Plan.from_json(text, _router().pool).assignments == {"solver": "a"}
    with pytest.raises(UnknownModelError, match="'a'"):
        Plan.from_json(text, ModelPool([ModelCard(name="z")]))
