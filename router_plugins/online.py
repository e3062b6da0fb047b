"""Online learning from outcome feedback: per (task, model) quality statistics that adapt routing without retraining.

``OnlineFeedback`` is a plugin. Its ``record_outcome`` takes the outcomes an application reports
(``router.record(plan, outcome)``), keeps those whose quality signal passes a gate (default: a score or success flag
and no error), and adds each model that ran to the statistics of the plan's task and of all tasks ("*"). Writes go
through a background thread, off the request path. Its ``score_models`` / ``score_batch`` wrap whatever scorer
answers (trained checkpoint or card priors) and shrink its prediction towards what was observed:

    all = (k·scorer + Σq_all) / (k + n_all)          task = (k·all + Σq_task) / (k + n_task)

with ``k = prior_strength`` pseudo-observations, so a handful of outcomes nudges the scores and many outcomes
dominate them. ``exploration`` adds a UCB bonus (``c·sqrt(ln(1 + N) / (1 + n))``) so models that were rarely chosen
get tried (bandit feedback only reveals the chosen model's quality). ``decay`` < 1 fades old evidence on each update
of a (task, model) cell, like pheromone evaporation, so routing follows models whose quality drifts.

The default store is SQLite in WAL mode (several processes may share one file); for a fleet, pass any object with
the :class:`OutcomeStore` methods backed by a shared database.
"""

from __future__ import annotations

import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from router_plugins.errors import ConfigError
from router_plugins.hookspecs import hookimpl
from router_plugins.outcome import Outcome
from router_plugins.plan import Plan

__all__ = ["ALL_TASKS", "MemoryOutcomeStore", "OnlineFeedback", "OutcomeStore", "SQLiteOutcomeStore"]

log = logging.getLogger("router_plugins")

#: Statistics key pooling every task.
ALL_TASKS = "*"

#: (key, model) → (weight, weighted quality sum)
Stats = dict[tuple[str, str], tuple[float, float]]


class OutcomeStore(Protocol):
    """Where outcome statistics live: add observations, read the cells of some keys."""

    def add(self, rows: Sequence[tuple[str, str, float]]) -> None:
        """Add (key, model, quality) observations."""

    def read(self, keys: Sequence[str]) -> Stats:
        """(key, model) → (weight, quality sum) for every model with observations under ``keys``."""


def _check_decay(decay: float) -> float:
    if not 0.0 < decay <= 1.0:
        raise ConfigError(f"decay must be in (0, 1], got {decay}")
    return float(decay)


class MemoryOutcomeStore:
    """In-process statistics (one process, lost at exit): for tests and short-lived apps."""

    def __init__(self, *, decay: float = 1.0) -> None:
        self.decay = _check_decay(decay)
        self._cells: Stats = {}
        self._lock = threading.Lock()

    def add(self, rows: Sequence[tuple[str, str, float]]) -> None:
        with self._lock:
            for key, model, q in rows:
                w, t = self._cells.get((key, model), (0.0, 0.0))
                self._cells[(key, model)] = (w * self.decay + 1.0, t * self.decay + q)

    def read(self, keys: Sequence[str]) -> Stats:
        wanted = set(keys)
        with self._lock:
            return {k: v for k, v in self._cells.items() if k[0] in wanted}


class SQLiteOutcomeStore:
    """Statistics in a SQLite file (WAL journal: concurrent readers and writers across processes)."""

    def __init__(self, path: str | Path, *, decay: float = 1.0, timeout_s: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self.decay = _check_decay(decay)
        self.timeout_s = timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS outcome_stats (key TEXT NOT NULL, model TEXT NOT NULL, "
                           "weight REAL NOT NULL, total REAL NOT NULL, updated REAL NOT NULL, "
                           "PRIMARY KEY (key, model))")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path} is not a usable outcome store: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=self.timeout_s)

    def add(self, rows: Sequence[tuple[str, str, float]]) -> None:
        now = time.time()
        with self._connect() as db:  # one transaction
            db.executemany(
                "INSERT INTO outcome_stats (key, model, weight, total, updated) VALUES (?, ?, 1.0, ?, ?) "
                "ON CONFLICT (key, model) DO UPDATE SET weight = weight * ? + 1.0, total = total * ? + excluded.total, "
                "updated = excluded.updated",
                [(key, model, float(q), now, self.decay, self.decay) for key, model, q in rows],
            )

    def read(self, keys: Sequence[str]) -> Stats:
        keys = list(dict.fromkeys(keys))
        with self._connect() as db:
            cur = db.execute(f"SELECT key, model, weight, total FROM outcome_stats WHERE key IN "
                             f"({', '.join('?' * len(keys))})", keys)
            return {(k, m): (w, t) for k, m, w, t in cur.fetchall()}


def passes_gate(outcome: Outcome) -> bool:
    """The default gate: the outcome carries a quality in [0, 1] and no error."""
    q = outcome.quality
    return outcome.error is None and q is not None and math.isfinite(q) and 0.0 <= q <= 1.0


class OnlineFeedback:
    """Plugin: learns per (task, model) quality from recorded outcomes and blends it into every scorer's output."""

    def __init__(
        self,
        store: OutcomeStore | str | Path | None = None,
        *,
        prior_strength: float = 10.0,
        exploration: float = 0.0,
        gate: Callable[[Outcome], bool] = passes_gate,
        background: bool = True,
        refresh_s: float = 1.0,
    ) -> None:
        if not prior_strength > 0:
            raise ConfigError(f"prior_strength must be > 0, got {prior_strength}")
        if exploration < 0:
            raise ConfigError(f"exploration must be >= 0, got {exploration}")
        if store is None:
            store = MemoryOutcomeStore()
        elif isinstance(store, (str, Path)):
            store = SQLiteOutcomeStore(store)
        self.store: OutcomeStore = store
        self.prior_strength, self.exploration = float(prior_strength), float(exploration)
        self.gate, self.refresh_s = gate, refresh_s
        self._cache: dict[str, tuple[float, Stats]] = {}
        self._queue: queue.Queue[list[tuple[str, str, float]] | None] | None = None
        if background:
            self._queue = queue.Queue()
            threading.Thread(target=self._writer, name="router-online-writer", daemon=True).start()

    # -- feedback ----------------------------------------------------------------------------------------------------
    @hookimpl
    def record_outcome(self, plan: Plan, outcome: Outcome) -> None:
        """Queue the outcome's quality for every model that ran, under the plan's task and under all tasks."""
        if not self.gate(outcome):
            return
        quality = float(outcome.quality)  # type: ignore[arg-type]
        models = [r.model for r in outcome.roles if r.error is None] if outcome.roles else \
            [m for m in plan.assignments.values() if m is not None]
        keys = [ALL_TASKS] + ([str(plan.metadata["task"])] if plan.metadata.get("task") else [])
        rows = [(key, model, quality) for model in dict.fromkeys(models) for key in keys]
        if not rows:
            return
        if self._queue is None:
            self._write(rows)
        else:
            self._queue.put(rows)

    def _write(self, rows: list[tuple[str, str, float]]) -> None:
        try:
            self.store.add(rows)
        except Exception:
            log.exception("router_plugins: could not store %d outcome observations; dropped", len(rows))
        self._cache.clear()

    def _writer(self) -> None:
        assert self._queue is not None
        while True:
            rows = self._queue.get()
            try:
                if rows is not None:
                    self._write(rows)
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued outcome is stored (tests, shutdown)."""
        if self._queue is not None:
            self._queue.join()
        self._cache.clear()

    # -- scoring -----------------------------------------------------------------------------------------------------
    def _stats(self, key: str) -> Stats:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.refresh_s:
            return hit[1]
        stats = self.store.read([key])
        self._cache[key] = (now, stats)
        return stats

    def adjust(self, task: str | None, models: Iterable[str], scores: Sequence[float]) -> list[float]:
        """The scorer's ``scores`` shrunk towards the observed qualities (plus the exploration bonus)."""
        k = self.prior_strength
        overall = self._stats(ALL_TASKS)
        local = self._stats(task) if task else {}
        out = []
        names = list(models)
        cells, key = (local, task) if task else (overall, ALL_TASKS)
        counts = [cells.get((key, m), (0.0, 0.0))[0] for m in names]  # the bonus follows the most specific counts
        total = sum(counts)
        for name, score, n in zip(names, scores, counts, strict=True):
            w_all, t_all = overall.get((ALL_TASKS, name), (0.0, 0.0))
            value = (k * float(score) + t_all) / (k + w_all)
            if task:
                w_task, t_task = local.get((task, name), (0.0, 0.0))
                value = (k * value + t_task) / (k + w_task)
            if self.exploration:
                value += self.exploration * math.sqrt(math.log1p(total) / (1.0 + n))
            out.append(min(1.0, max(0.0, value)))
        return out

    @hookimpl(wrapper=True)
    def score_models(self, query: Any, pool: Any, context: Any) -> Any:
        scores = yield
        return None if scores is None else self.adjust(query.task, pool.names, scores)

    @hookimpl(wrapper=True)
    def score_batch(self, queries: Any, pool: Any, context: Any) -> Any:
        rows = yield
        if rows is None:
            return None
        return [self.adjust(q.task, pool.names, row) for q, row in zip(queries, rows, strict=True)]
