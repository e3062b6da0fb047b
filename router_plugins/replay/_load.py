"""Read recorded outcomes (a file or a folder in any registered format) into an :class:`OutcomeTable`.

A folder is recognised by the columns of the CSV files it holds, not by its name, so a copy of a shared dataset under
any name loads the same. Where a dataset records no cost, cost is estimated as tokens × list prices and
``cost_estimated`` is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from router_plugins.errors import DataError
from router_plugins.replay._table import OutcomeTable
from router_plugins.replay.formats import LoadOptions, OutcomeFormat, Prices, registered_formats
from router_plugins.replay.formats._columns import README_FORMATS, stem

__all__ = ["accepted_formats", "load_outcomes"]


def accepted_formats() -> str:
    """One sentence listing every registered format, for error messages."""
    listing = "; ".join(f.description for f in registered_formats())
    return f"one of: {listing} ({README_FORMATS})"


def load_outcomes(
    path: str | Path,
    *,
    prices: Prices | None = None,
    models: Sequence[str] | None = None,
) -> OutcomeTable:
    """Load an outcome file or folder in any registered format as an OutcomeTable.

    ``prices`` (model → USD per 1M input/output tokens) override/extend the dataset's prices and are used to estimate
    cost where none is recorded (recorded costs are never replaced). ``models`` names the score columns of a wide CSV
    that has no ``<model>|total_cost`` columns.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file or folder; expected {accepted_formats()}")
    if p.is_dir():
        fmt, files = _classify_folder(p, models)
        name = p.name
    else:
        fmt = _classify_file(p, models)
        files = [p]
        name = stem(p)
    options = LoadOptions(name=name, prices=dict(prices or {}), models=tuple(models) if models else None)
    try:
        return fmt.load(files, options)
    except DataError:
        raise
    except (ValueError, KeyError, TypeError, OSError, EOFError) as exc:  # pandas / gzip / json parse errors
        raise DataError(f"{p}: cannot be read as {fmt.name} outcome data ({type(exc).__name__}: {exc})") from exc


def _is_csv(p: Path) -> bool:
    return p.is_file() and (p.name.endswith(".csv") or p.name.endswith(".csv.gz"))


def _header(p: Path) -> list[str]:
    import pandas as pd

    try:
        return [str(c) for c in pd.read_csv(p, nrows=0).columns]
    except Exception as exc:
        raise DataError(f"{p}: cannot be parsed as CSV ({type(exc).__name__}: {exc}); expected {accepted_formats()}") \
            from exc


def _recognise(columns: Sequence[str], folder: Path, models: Sequence[str] | None) -> OutcomeFormat | None:
    return next((f for f in registered_formats() if f.recognise(columns, folder, models)), None)


def _classify_file(p: Path, models: Sequence[str] | None) -> OutcomeFormat:
    if not _is_csv(p):
        raise DataError(f"{p}: not a .csv / .csv.gz file; expected {accepted_formats()}")
    fmt = _recognise(_header(p), p.parent, models)
    if fmt is None:
        raise DataError(f"{p}: not a recognised outcome file; expected {accepted_formats()}")
    return fmt


def _classify_folder(p: Path, models: Sequence[str] | None) -> tuple[OutcomeFormat, list[Path]]:
    csvs = sorted(f for f in p.iterdir() if _is_csv(f))
    found: dict[str, tuple[OutcomeFormat, list[Path]]] = {}
    for f in csvs:
        fmt = _recognise(_header(f), p, models)
        if fmt is not None:
            found.setdefault(fmt.name, (fmt, []))[1].append(f)
    if not found:
        listing = ", ".join(f.name for f in csvs) or "no CSV files"
        raise DataError(f"{p}: no recognised outcome CSV in this folder ({listing}); expected {accepted_formats()}")
    if len(found) > 1:
        listing = "; ".join(f"{k}: {', '.join(f.name for f in fs)}" for k, (_, fs) in sorted(found.items()))
        raise DataError(f"{p}: the folder mixes several outcome formats ({listing}); pass one file instead")
    ((fmt, files),) = found.values()
    if len(files) > 1 and not fmt.many_files:
        raise DataError(f"{p}: found {len(files)} {fmt.name} CSV files ({', '.join(f.name for f in files)}); "
                        "pass one file")
    return fmt, files
