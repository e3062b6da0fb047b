"""The outcome-store contract, batch aggregation, failure classification and the in-memory store.

A store keeps, per (key, model), a decayed weight and a decayed quality sum. Writers send batches of
(key, model, quality) rows; :func:`aggregate` folds a batch into one update per cell, so a batch of thousands of
outcomes is a handful of statements in one transaction whatever the backend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from router_plugins.errors import ConfigError, RouterError

__all__ = ["ALL_TASKS", "Cell", "Fault", "MemoryOutcomeStore", "OutcomeStore", "Row", "Stats", "StoreError",
           "aggregate", "check_decay"]

#: Statistics key pooling every task.
ALL_TASKS = "*"

#: One observation: (key, model, quality in [0, 1]).
Row = tuple[str, str, float]

#: (key, model) → (weight, weighted quality sum)
Stats = dict[tuple[str, str], tuple[float, float]]


class StoreError(RouterError):
    """An outcome could not be committed to the store (durable mode raises it from ``OnlineFeedback.record``)."""


@runtime_checkable
class OutcomeStore(Protocol):
    """Where outcome statistics live: add observations, read the cells of some keys."""

    def add(self, rows: Sequence[Row]) -> None:
        """Add (key, model, quality) observations, all in one transaction."""

    def read(self, keys: Sequence[str]) -> Stats:
        """(key, model) → (weight, quality sum) for every model with observations under ``keys``."""


@dataclass(frozen=True)
class Fault:
    """Why a store call failed: a short cause for the log, and whether retrying (after a reconnect) may help."""

    cause: str
    transient: bool


@dataclass(frozen=True)
class Cell:
    """A batch's net update of one (key, model): ``new = old · factor + add`` for weight and total alike."""

    key: str
    model: str
    factor: float
    weight: float
    total: float


def check_decay(decay: float) -> float:
    """``decay`` validated to (0, 1]: the factor old evidence is multiplied by on each new observation of its cell."""
    if not 0.0 < decay <= 1.0:
        raise ConfigError(f"decay must be in (0, 1], got {decay}")
    return float(decay)


def aggregate(rows: Sequence[Row], decay: float) -> list[Cell]:
    """Fold rows into one update per cell, equal to applying them one by one (``w ← w·d + 1``, ``t ← t·d + q``)."""
    cells: dict[tuple[str, str], list[float]] = {}
    for key, model, q in rows:
        acc = cells.get((key, model))
        if acc is None:
            cells[(key, model)] = [decay, 1.0, float(q)]
        else:  # one more step of the recurrence on the batch's own contribution
            acc[0] *= decay
            acc[1] = acc[1] * decay + 1.0
            acc[2] = acc[2] * decay + float(q)
    return [Cell(k, m, f, w, t) for (k, m), (f, w, t) in cells.items()]


class MemoryOutcomeStore:
    """In-process statistics (one process, lost at exit): for tests and short-lived apps."""

    url = "memory://"

    def __init__(self, *, decay: float = 1.0) -> None:
        self.decay = check_decay(decay)
        self._cells: Stats = {}
        self._lock = threading.Lock()

    def add(self, rows: Sequence[Row]) -> None:
        """Apply the rows' aggregated update to the in-memory cells."""
        with self._lock:
            for c in aggregate(rows, self.decay):
                w, t = self._cells.get((c.key, c.model), (0.0, 0.0))
                self._cells[(c.key, c.model)] = (w * c.factor + c.weight, t * c.factor + c.total)

    def read(self, keys: Sequence[str]) -> Stats:
        """The cells of ``keys``."""
        wanted = set(keys)
        with self._lock:
            return {k: v for k, v in self._cells.items() if k[0] in wanted}

    def close(self) -> None:
        """Nothing to release."""


class ThreadConnections:
    """One database connection per thread (SQLite and psycopg connections are not shared across threads), all of
    them closable at once; ``open`` makes a new connection."""

    def __init__(self, open: Callable[[], Any], is_usable: Callable[[Any], bool] = lambda db: True) -> None:
        self._open, self._usable = open, is_usable
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all: list[Any] = []

    def get(self) -> Any:
        """This thread's connection, opened on first use (or after ``reset``)."""
        db = getattr(self._local, "db", None)
        if db is None or not self._usable(db):
            db = self._open()
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def reset(self) -> None:
        """Drop this thread's connection (a fresh one is opened on the next call)."""
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            with self._lock:
                if db in self._all:
                    self._all.remove(db)
            _close_quietly(db)

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            conns, self._all = self._all, []
        for db in conns:
            _close_quietly(db)
        self._local = threading.local()


def _close_quietly(db: Any) -> None:
    try:
        db.close()
    except Exception:  # noqa: BLE001 - closing a connection that is already broken
        pass
