"""The ``router-plugins`` command line: a click group whose subcommands come from the ``register_commands`` hook."""

from __future__ import annotations

import sys
from typing import Any

import click

from router_plugins.errors import RouterError


class _Group(click.Group):
    """A group that turns the library's typed errors into one line on stderr and exit status 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RouterError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="router-plugins")
def cli() -> None:
    """Plan which agents run and which LLM each uses, under a cost budget."""


def _load_commands() -> None:
    from router_plugins._plugins import make_plugin_manager

    make_plugin_manager().hook.register_commands(cli=cli)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _load_commands()
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="router-plugins")
