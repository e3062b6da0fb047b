"""Built-in CLI commands: demo, plan, models, plugins."""

from __future__ import annotations

from typing import Any

from router_plugins.hookspecs import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    """Add the built-in subcommands to the click group."""
    from router_plugins import commands

    for command in commands.BUILTIN_COMMANDS:
        cli.add_command(command)
