"""Built-in CLI commands: ``demo`` (the main job), ``plan``, ``models`` and ``plugins``, registered through the
``register_commands`` hook like any plugin's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from router_plugins._json import dumps
from router_plugins.cards import ModelPool
from router_plugins.hookspecs import hookimpl
from router_plugins.query import Role


@click.command()
@click.option("--data", type=click.Path(path_type=Path), default=None, help="outcome data (default: embedded)")
@click.option("--lam", "lambdas", type=float, multiple=True,
              help="λ values for both tables (repeatable; default 0, 100, 1000: cost ignored, balanced, cheap)")
@click.option("--team-queries", type=int, default=100, show_default=True, help="queries for the multi-agent part")
@click.option("--no-team", is_flag=True, help="skip the multi-agent LangGraph part")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def demo(data: Path | None, lambdas: tuple[float, ...], team_queries: int, no_team: bool, as_json: bool) -> None:
    """Offline replay on embedded data: route every test query, then run a routed multi-agent LangGraph team."""
    from router_plugins.replay.demo import DEFAULT_LAMBDAS, format_demo, run_demo

    result: dict[str, object] = {"routing": run_demo(data, lambdas or DEFAULT_LAMBDAS)}
    if not as_json:
        click.echo(format_demo(result["routing"]))  # type: ignore[arg-type]
    from router_plugins.replay.configuration_demo import format_configuration_demo, run_configuration_demo

    result["configurations"] = run_configuration_demo(data.parent if data is not None and data.is_dir() else None)
    if not as_json:
        click.echo("\n" + format_configuration_demo(result["configurations"]))  # type: ignore[arg-type]
    if not no_team:
        try:
            from router_plugins.adapters.langgraph.team_demo import format_team_demo, run_team_demo
        except ImportError as exc:  # the core install has no LangGraph
            result["team"] = None
            if not as_json:
                click.echo(f"\n(multi-agent part skipped: {exc}; install router-plugins[langgraph])")
        else:
            result["team"] = run_team_demo(n_queries=team_queries, data=data, lambdas=lambdas or DEFAULT_LAMBDAS)
            if not as_json:
                click.echo("\n" + format_team_demo(result["team"]))  # type: ignore[arg-type]
    if as_json:
        click.echo(dumps(result, indent=2))


@click.command("plan")
@click.argument("text")
@click.option("--pool", "pool_path", type=click.Path(path_type=Path), required=True, help="pool file (.toml/.yaml)")
@click.option("--roles", default=None, help="comma-separated roles; a trailing ? marks a role optional")
@click.option("--modes", default=None, help="comma-separated collaboration modes")
@click.option("--lam", type=float, default=0.0, show_default=True,
              help="cost weight λ, quality points per USD; 0 = best predicted quality, cost only breaks ties")
@click.option("--budget", type=float, default=None, help="hard budget in USD for this task")
@click.option("--task", default=None, help="task family of the query")
@click.option("--json", "as_json", is_flag=True, help="print the plan as JSON")
def plan_command(
    text: str, pool_path: Path, roles: str | None, modes: str | None, lam: float, budget: float | None,
    task: str | None, as_json: bool,
) -> None:
    """Plan one query against a pool file and print the plan."""
    from router_plugins.options import PlanOptions
    from router_plugins.query import Query
    from router_plugins.router import Router

    router = Router(ModelPool.from_file(pool_path), lam=lam, budget_usd=budget, fail_open=False)
    role_list = [Role.parse(r) for r in roles.split(",") if r.strip()] if roles else None
    mode_list = [m.strip() for m in modes.split(",") if m.strip()] if modes else None
    plan = router.plan(Query(text=text, task=task), role_list,
                       PlanOptions(modes=tuple(mode_list)) if mode_list else None)
    click.echo(plan.to_json(indent=2) if as_json else plan.explain())


@click.command()
@click.option("--pool", "pool_path", type=click.Path(path_type=Path), required=True, help="pool file (.toml/.yaml)")
def models(pool_path: Path) -> None:
    """List the models of a pool file with their prices (and where each came from), context windows and priors."""
    pool = ModelPool.from_file(pool_path)
    click.echo(f"{'name':<32} {'$/1M in':>9} {'$/1M out':>9} {'context':>9} {'quality':>8}  {'prices from':<13} provider")
    for card in pool:
        prior = card.prior_quality()
        q = "—" if prior is None else f"{prior:.2f}"
        click.echo(f"{card.name:<32} {card.input_price:>9.3g} {card.output_price:>9.3g} {card.context_window:>9} "
                   f"{q:>8}  {pool.price_source(card.name):<13} {card.provider or ''}")


@click.command()
def plugins() -> None:
    """List every registered plugin (built-in or installed), the hooks it implements and where it comes from."""
    from router_plugins._plugins import describe_plugins, make_plugin_manager

    for row in describe_plugins(make_plugin_manager()):
        click.echo(f"{row['name']}  [{row['kind']}]  from {row['origin']}\n    hooks: {', '.join(row['hooks'])}")


BUILTIN_COMMANDS = (demo, plan_command, models, plugins)


@hookimpl
def register_commands(cli: Any) -> None:
    """Add the built-in subcommands to the click group."""
    for command in BUILTIN_COMMANDS:
        cli.add_command(command)
