"""The demo's multi-agent table: real multi-agent configuration outcomes (DyLAN team sizes on MMLU, MoA / Sparse MoA /
RouteMoA), the learned configuration selector against every fixed configuration and the per-item oracle.

Both data sets are embedded (DyLAN: MIT; RouteMoA: Apache-2.0, reduced to the outcome columns); ``--data`` pointing at
a folder holding ``dylan_multiagent_mmlu`` / ``routemoa_multiagent`` (the shared data folder) uses those instead. All
figures are out-of-fold (5 folds stratified by subject / dataset).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from router_plugins.replay import load_outcomes

__all__ = ["CONFIGURATION_SETS", "format_configuration_demo", "run_configuration_demo"]

#: The embedded configuration-outcome folders, in the order the demo shows them.
CONFIGURATION_SETS: tuple[str, ...] = ("dylan_multiagent_mmlu", "routemoa_multiagent")


def _folder(name: str, root: Path | None) -> Path:
    """``root/name`` when the caller's data root holds it, else the embedded copy."""
    if root is not None and (Path(root) / name).is_dir():
        return Path(root) / name
    return Path(str(files("router_plugins") / "data" / name))


def run_configuration_demo(root: Path | None = None) -> dict[str, Any]:
    """Per data set: out-of-fold calibration of the fitted configuration priors and the selector's replay."""
    from router_plugins.configuration_eval import evaluate_configurations

    out: dict[str, Any] = {}
    for name in CONFIGURATION_SETS:
        folder = _folder(name, root)
        table = load_outcomes(folder)
        out[name] = {"source": str(folder), "n": len(table), "cost_unit": table.cost_unit,
                     **evaluate_configurations(table)}
    return out


def format_configuration_demo(result: dict[str, Any]) -> str:
    """The plain-text tables of ``run_configuration_demo``."""
    from router_plugins.configuration_eval import format_configurations

    blocks = [("Real multi-agent outcomes: the learned configuration selector (router_plugins.configuration_selector) vs "
               "every fixed configuration and the per-item oracle; 5-fold out-of-fold figures, 'pred' = the fitted prior")]
    for name, r in result.items():
        blocks.append(format_configurations(f"{name} ({r['n']} items)", r, r["cost_unit"]))
    return "\n\n".join(blocks)
