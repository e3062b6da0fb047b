"""Registers the built-in collaboration modes: single, full, vote-3, reflection."""

from __future__ import annotations

from collections.abc import Callable

from router_plugins.hookspecs import hookimpl
from router_plugins.modes import BUILTIN_MODES, Mode


@hookimpl
def register_modes(register: Callable[[Mode], None]) -> None:
    """Register each built-in mode."""
    for mode in BUILTIN_MODES:
        register(mode)
