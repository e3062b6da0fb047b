"""The plugin manager: built-ins registered like any plugin, hookspec names fixed, installed-plugin filtering."""

from __future__ import annotations

from typing import Any

import pytest

from router_plugins import hookspecs
from router_plugins._plugins import DEFAULT_PLUGINS, describe_plugins, installed_plugins, make_plugin_manager, reset_installed_plugins

REQUIRED_HOOKS = {
    "register_models",
    "register_modes",
    "guard_query",
    "score_models",
    "select_mode",
    "allocate_roles",
    "route_role",
    "adjust_plan",
    "make_chat_model",
    "record_outcome",
}


def test_hookspec_names_and_docstrings() -> None:
    specs = {name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "router_plugins_spec")}
    assert REQUIRED_HOOKS <= specs
    for name in specs:
        assert getattr(hookspecs, name).__doc__, f"hook {name} needs its contract as a docstring"


def test_builtins_are_plugins() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    rows = {row["name"]: row for row in describe_plugins(pm)}
    assert set(DEFAULT_PLUGINS) <= set(rows)
    assert all(rows[name]["builtin"] for name in DEFAULT_PLUGINS)
    implemented = {hook for row in rows.values() for hook in row["hooks"]}
    assert REQUIRED_HOOKS - {"record_outcome", "register_models"} <= implemented


def test_extra_plugin_objects_register() -> None:
    class Extra:
        @hookspecs.hookimpl
        def register_modes(self, register: Any) -> None:
            pass

    pm = make_plugin_manager([Extra()], load_entrypoints=False)
    assert any(not row["builtin"] and row["hooks"] == ["register_modes"] for row in describe_plugins(pm))


def test_router_plugins_load_filters_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_PLUGINS_LOAD", "")
    reset_installed_plugins()
    try:
        assert installed_plugins() == []
    finally:
        reset_installed_plugins()



def test_a_cost_plugin_prices_plans_and_the_builtin_shortcut_agrees_with_the_hook(pool: Any) -> None:
    from router_plugins import Role, Router
    from router_plugins.default_plugins import token_cost

    roles = [Role("writer", prompt_tokens=120), Role("critic", optional=True, output_tokens=40)]
    text = "a question of some length " * 20
    router = Router(pool, lam=0.0, load_entrypoints=False)
    assert token_cost.is_only_estimate(router.pm.hook)
    shortcut, via_hook = router.context(text, roles, None), router.context(text, roles, None)
    via_hook.memo["builtin_cost"] = False  # the built-in estimate through the hook
    assert [shortcut.cost(r, c) for r in shortcut.roles for c in pool.cards] == \
        [via_hook.cost(r, c) for r in via_hook.roles for c in pool.cards]

    class Flat:
        @hookspecs.hookimpl
        def estimate_cost(self, card: Any) -> float:
            return 0.5

    priced = Router(pool, lam=0.0, load_entrypoints=False, plugins=[Flat()])
    assert not token_cost.is_only_estimate(priced.pm.hook)
    plan = priced.plan(text, roles)
    assert plan.cost_usd == pytest.approx(0.5 * sum(a.model is not None for a in plan.roles))
