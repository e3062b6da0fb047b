"""The pluggy plugin manager: built-in plugins first, then installed ones from the ``router_plugins`` entry points.

``ROUTER_PLUGINS_LOAD`` restricts which installed plugins load: unset loads all, an empty value loads none,
``a,b`` loads only the entry points named a and b (built-in behaviour always loads).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
from collections.abc import Iterable
from importlib.metadata import entry_points, packages_distributions
from typing import Any

import pluggy

from router_plugins import hookspecs

log = logging.getLogger("router_plugins")

ENTRY_POINT_GROUP = "router_plugins"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "router_plugins.default_plugins.modes",
    "router_plugins.default_plugins.prior_scorer",
    "router_plugins.scorer.plugin",
    "router_plugins.default_plugins.token_cost",
    "router_plugins.default_plugins.cascade",
    "router_plugins.default_plugins.length_guard",
    "router_plugins.default_plugins.answer_checks",
    "router_plugins.default_plugins.chat_models",
    "router_plugins.default_plugins.commands",
)

_entrypoint_plugins: list[tuple[str, Any]] | None = None


def installed_plugins() -> list[tuple[str, Any]]:
    """(name, object) of each entry-point plugin allowed by ROUTER_PLUGINS_LOAD, loaded once per process."""
    global _entrypoint_plugins
    if _entrypoint_plugins is None:
        allowed = os.environ.get("ROUTER_PLUGINS_LOAD")
        names = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        loaded = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if names is not None and ep.name not in names:
                continue
            try:
                loaded.append((ep.name, ep.load()))
            except Exception:  # a broken third-party plugin must not take the host down
                log.exception("router_plugins: could not load plugin %r (%s); skipping it", ep.name, ep.value)
        _entrypoint_plugins = loaded
    return list(_entrypoint_plugins)


def reset_installed_plugins() -> None:
    """Forget the loaded entry points so the next manager re-reads them (tests, after pip install)."""
    global _entrypoint_plugins
    _entrypoint_plugins = None


def make_plugin_manager(
    extra: Iterable[Any] = (), *, load_entrypoints: bool = True, disable: Iterable[str] = ()
) -> pluggy.PluginManager:
    """A manager with the built-in plugins, the installed ones (optional) and ``extra`` plugin objects.

    ``disable`` names plugins (built-in module names or entry-point names) that must not run.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for name in disable:
        pm.set_blocked(name)
    for module_name in DEFAULT_PLUGINS:
        if pm.is_blocked(module_name):
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # a plain checkout has no router_plugins.scorer (it is mapped in at install time): route on priors
            log.debug("router_plugins: built-in plugin %s skipped: %s", module_name, exc)
            continue
        pm.register(module, name=module_name)
    if load_entrypoints:
        for name, plugin in installed_plugins():
            if pm.is_registered(plugin) or pm.is_blocked(name):
                continue
            pm.register(plugin, name=name)
    for plugin in extra:
        pm.register(plugin, name=_unique_name(pm, plugin))
    return pm


def _unique_name(pm: pluggy.PluginManager, plugin: Any) -> str:
    """A readable registration name for a plugin object: its module, or its class (numbered when repeated)."""
    base = plugin.__name__ if inspect.ismodule(plugin) else f"{type(plugin).__module__}.{type(plugin).__qualname__}"
    name, n = base, 1
    while pm.get_plugin(name) is not None or pm.is_blocked(name):
        n += 1
        name = f"{base}#{n}"
    return name


def _origin(plugin: Any) -> str:
    """Where a plugin comes from: the distribution that installed it, else its module."""
    module = plugin.__name__ if inspect.ismodule(plugin) else type(plugin).__module__
    top = module.split(".")[0]
    dists = packages_distributions().get(top)
    return f"{module} ({', '.join(sorted(set(dists)))})" if dists else module


def describe_plugins(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Name and implemented hooks of every registered plugin (for ``router-plugins plugins``)."""
    rows = []
    entry_names = {name for name, _ in installed_plugins()}
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        kind = "built-in" if name in DEFAULT_PLUGINS else "installed" if name in entry_names else "passed in"
        rows.append({"name": name, "builtin": name in DEFAULT_PLUGINS, "kind": kind, "hooks": hooks,
                     "origin": _origin(plugin)})
    return rows
