"""The learned configuration selector: a ``select_mode`` plugin (opt-in) that picks a team configuration (DyLAN team
size, MoA system …) from qualities and costs fitted on recorded configuration outcomes.

Each configuration the fitted :class:`~router_plugins.configuration_model.ConfigurationModel` knows is registered as a
collaboration mode of the same name. For a query, the selector predicts quality and cost of every known configuration
from the query's task (subject, dataset); modes it does not know keep the planner's priors (their best draft's
predicted quality and cost). It answers the mode with the highest quality − λ·cost that fits the budget, with the
predictions in the reason. Use: ``Router(pool, plugins=[ConfigurationSelector(model)], modes=model.configurations)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from router_plugins.configuration_model import ConfigurationModel
from router_plugins.context import Decision, PlanContext
from router_plugins.errors import ConfigError
from router_plugins.hookspecs import hookimpl
from router_plugins.modes import Mode
from router_plugins.planner import optimise
from router_plugins.query import Query

__all__ = ["ConfigurationSelector", "configuration_modes"]


def configuration_modes(model: ConfigurationModel) -> tuple[Mode, ...]:
    """One collaboration mode per fitted configuration (same name), so the router can be asked to choose among them."""
    return tuple(Mode(name, f"recorded team configuration {name!r} (quality and cost fitted on outcomes)")
                 for name in model.configurations)


class ConfigurationSelector:
    """``select_mode`` from fitted configuration priors; ``usd_per_unit`` converts the model's cost unit (e.g. LLM
    calls) to USD so that λ and the budget mean what they mean elsewhere (required unless the unit is USD)."""

    def __init__(self, model: ConfigurationModel, *, usd_per_unit: float | None = None) -> None:
        if not isinstance(model, ConfigurationModel):
            raise ConfigError(f"ConfigurationSelector needs a ConfigurationModel, got {type(model).__name__}")
        if usd_per_unit is None:
            if model.cost_unit != "USD":
                raise ConfigError(f"the configuration model counts cost in {model.cost_unit!r}: pass usd_per_unit= "
                                  "(USD per unit, e.g. the price of one LLM call) so λ and budgets are in USD")
            usd_per_unit = 1.0
        if not isinstance(usd_per_unit, (int, float)) or not usd_per_unit >= 0:
            raise ConfigError(f"usd_per_unit must be a number ≥ 0, got {usd_per_unit!r}")
        self.model = model
        self.usd_per_unit = float(usd_per_unit)

    @hookimpl
    def register_modes(self, register: Callable[[Mode], None]) -> None:
        """Register one mode per fitted configuration."""
        for mode in configuration_modes(self.model):
            register(mode)

    def predictions(self, query: Query) -> dict[str, tuple[float, float]]:
        """Fitted (quality, USD cost) of every known configuration for ``query``."""
        q, c = self.model.predict(query.task)
        return {name: (float(q[j]), float(c[j]) * self.usd_per_unit) for j, name in enumerate(self.model.configurations)}

    @hookimpl
    def select_mode(self, query: Query, modes: Sequence[Mode], context: PlanContext) -> Decision | None:
        """The best mode by quality − λ·cost: fitted predictions for known configurations, priors for the rest."""
        fitted = self.predictions(query)
        if not any(m.name in fitted for m in modes):
            return None
        lam, budget = context.lam, context.budget_usd
        options: list[tuple[float, float, str, str]] = []
        for mode in modes:
            if mode.name in fitted:
                q, c = fitted[mode.name]
                source = "fitted"
            else:
                draft = optimise(context.roles, {r.name: context.candidates(r) for r in context.roles}, mode,
                                 lam=lam, budget=budget, max_latency=context.max_latency_s)
                if draft is None:
                    continue
                q, c, source = draft.quality, draft.cost, "prior"
            if budget is not None and c > budget + 1e-12:
                continue
            options.append((q - lam * c, -c, mode.name, f"{mode.name}: q={q:.3f}, ${c:.3g} ({source})"))
        if not options:
            return None  # nothing fits the budget: the built-in stage explains why
        best = max(options)
        others = "; ".join(o[3] for o in sorted(options, reverse=True) if o is not best)
        reason = f"highest predicted quality − λ·cost: {best[3]}" + (f" (vs {others})" if others else "")
        # the plan records the fitted predictions (plan.metadata["configuration"]), since its own quality figure is
        # the role-level prior of the chosen mode
        context.metadata["configuration"] = {
            "mode": best[2], "reason": reason, "cost_unit": self.model.cost_unit, "usd_per_unit": self.usd_per_unit,
            "predicted": {name: {"quality": q, "cost_usd": c} for name, (q, c) in fitted.items()}}
        return Decision(best[2], reason)


def selector_choices(model: ConfigurationModel, tasks: Sequence[Any], lam: float = 0.0) -> list[int]:
    """Column of the configuration the selector picks for each task at ``lam`` (cost in the model's own unit): the
    same rule as ``select_mode`` for replaying it over an outcome table."""
    q, c = model.predict_rows([str(t) for t in tasks])
    score = q - lam * c - 1e-12 * c  # ties go to the cheaper configuration
    return score.argmax(axis=1).tolist()
