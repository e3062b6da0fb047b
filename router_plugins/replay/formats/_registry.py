"""What a dataset format is (how it recognises its CSV and how it loads it) and the registry of every format module.

Each public module of ``router_plugins.replay.formats`` defines one ``FORMAT = OutcomeFormat(...)``; the registry
imports them all, so adding a format is adding one file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from router_plugins.replay._table import OutcomeTable

__all__ = ["LoadOptions", "OutcomeFormat", "Prices", "registered_formats"]

#: model → (USD per 1M input tokens, USD per 1M output tokens)
Prices = dict[str, tuple[float, float]]


@dataclass(frozen=True)
class LoadOptions:
    """What the caller of ``load_outcomes`` asked for: the table's name, price overrides and named score columns."""

    name: str
    prices: Prices = field(default_factory=dict)
    models: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OutcomeFormat:
    """One dataset layout: ``recognise(columns, folder, models)`` says whether a CSV with this header belongs to it,
    ``load(files, options)`` reads the recognised files of one folder (or the one file given) into a table."""

    name: str
    description: str
    recognise: Callable[[Sequence[str], Path, Sequence[str] | None], bool]
    load: Callable[[Sequence[Path], LoadOptions], OutcomeTable]
    #: a folder may hold several files of this format, loaded together (RouteLLM's per-benchmark files)
    many_files: bool = False
    #: formats are tried in ascending priority; the generic wide CSV goes last so that specific layouts win
    priority: int = 50


@cache
def registered_formats() -> tuple[OutcomeFormat, ...]:
    """Every format defined in ``router_plugins.replay.formats``, in the order they are tried."""
    package = importlib.import_module("router_plugins.replay.formats")

    found: list[OutcomeFormat] = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        fmt = getattr(module, "FORMAT", None)
        if isinstance(fmt, OutcomeFormat):
            found.append(fmt)
    return tuple(sorted(found, key=lambda f: (f.priority, f.name)))
