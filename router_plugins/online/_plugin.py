"""The ``OnlineFeedback`` plugin: records outcomes into a store and blends the observed qualities into every score."""

from __future__ import annotations

import atexit
import math
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from router_plugins.errors import ConfigError
from router_plugins.hookspecs import hookimpl
from router_plugins.online._open import open_store
from router_plugins.online._store import ALL_TASKS, OutcomeStore, Row, Stats, StoreError
from router_plugins.online._writer import AsyncWriter, Health, commit, log
from router_plugins.outcome import Outcome
from router_plugins.plan import Plan

__all__ = ["OnlineFeedback", "passes_gate"]


def passes_gate(outcome: Outcome) -> bool:
    """The default gate: the outcome carries a quality in [0, 1] and no error."""
    q = outcome.quality
    return outcome.error is None and q is not None and math.isfinite(q) and 0.0 <= q <= 1.0


def _clean(name: str) -> str:
    # NUL and lone surrogates cannot be stored as text by PostgreSQL / SQLite / redis-py: one such name would fail
    # a whole batch, so they become U+FFFD here
    if "\0" in name or not name.isprintable():
        name = "".join("\ufffd" if c == "\0" or "\ud800" <= c <= "\udfff" else c for c in name)
    return name


def _close_at_exit(ref: weakref.ref[OnlineFeedback]) -> None:
    feedback = ref()
    if feedback is not None:
        feedback.close()


class OnlineFeedback:
    """Plugin: learns per (task, model) quality from recorded outcomes and blends it into every scorer's output.

    Modes: async (default) queues outcomes for a background writer, flushed by ``flush()``, ``close()``, the end of
    a ``with`` block and interpreter exit; ``durable=True`` returns from ``record`` only after the commit;
    ``background=False`` writes in the caller's thread and logs (does not raise) failures.
    """

    def __init__(
        self,
        store: OutcomeStore | str | Path | None = None,
        *,
        prior_strength: float = 10.0,
        exploration: float = 0.0,
        gate: Callable[[Outcome], bool] = passes_gate,
        durable: bool = False,
        background: bool = True,
        decay: float = 1.0,
        refresh_s: float = 1.0,
        max_queue: int = 100_000,
        max_batch: int = 5_000,
        put_timeout_s: float | None = 1.0,
        retry_s: float = 30.0,
        close_timeout_s: float = 30.0,
    ) -> None:
        if not prior_strength > 0:
            raise ConfigError(f"prior_strength must be > 0, got {prior_strength}")
        if exploration < 0:
            raise ConfigError(f"exploration must be >= 0, got {exploration}")
        if max_queue < 1 or max_batch < 1:
            raise ConfigError(f"max_queue and max_batch must be >= 1, got {max_queue} and {max_batch}")
        self.store: OutcomeStore = open_store(store, decay=decay, durable=durable)
        self.prior_strength, self.exploration = float(prior_strength), float(exploration)
        self.gate, self.refresh_s = gate, refresh_s
        self.durable = durable
        self.retry_s, self.close_timeout_s = retry_s, close_timeout_s
        self.health = Health(self.store)
        self._cache: dict[str, tuple[float, Stats]] = {}
        self._closed = False
        self._writer: AsyncWriter | None = None
        if background and not durable:
            self._writer = AsyncWriter(self._write_batch, max_queue=max_queue, max_batch=max_batch,
                                       put_timeout_s=put_timeout_s)
        self._atexit = lambda ref=weakref.ref(self): _close_at_exit(ref)
        atexit.register(self._atexit)

    # -- feedback ----------------------------------------------------------------------------------------------------
    def rows(self, plan: Plan, outcome: Outcome) -> list[Row]:
        """The observations one outcome adds: its quality for every model that ran, under its task and all tasks."""
        if not self.gate(outcome):
            return []
        quality = float(outcome.quality)  # type: ignore[arg-type]
        models = [r.model for r in outcome.roles if r.error is None] if outcome.roles else \
            [m for m in plan.assignments.values() if m is not None]
        keys = [ALL_TASKS] + ([_clean(str(plan.metadata["task"]))] if plan.metadata.get("task") else [])
        return [(key, _clean(str(model)), quality) for model in dict.fromkeys(models) for key in keys]

    def record(self, plan: Plan, outcome: Outcome) -> bool:
        """Record one outcome; True once it is acknowledged (queued in async mode, committed in durable mode).

        False: the gate dropped it, or the queue stayed full for ``put_timeout_s`` (counted as ``dropped_overflow``).
        Durable mode raises :class:`StoreError` when the commit fails (after ``retry_s`` of retries)."""
        rows = self.rows(plan, outcome)
        if not rows:
            return False
        if self._writer is not None:
            if self._writer.put(rows):  # counted by the writer (no second lock on the hot path)
                return True
            self.health.count("dropped_overflow")
            if self.health.counts["dropped_overflow"] == 1 or self._closed:
                log.warning("router_plugins: the online feedback queue is full (%d outcomes) or closed; outcomes "
                            "are being dropped and counted in OnlineFeedback.counters['dropped_overflow']",
                            self._writer.max_queue)
            return False
        deadline = time.monotonic() + self.retry_s
        ok = self._write_batch([rows], lambda: deadline)
        if ok:
            self.health.count("accepted")
        elif self.durable:
            raise StoreError(f"the outcome was not stored in {getattr(self.store, 'url', 'the outcome store')}: "
                             "see the ERROR logged by router_plugins for the cause")
        return ok

    @hookimpl
    def record_outcome(self, plan: Plan, outcome: Outcome) -> None:
        """``router.record``: record the outcome (failures are logged and counted: this hook never raises)."""
        try:
            self.record(plan, outcome)
        except StoreError:
            pass  # already logged once and counted in counters['failed']

    def _write_batch(self, records: list[list[Row]], deadline: Callable[[], float | None]) -> bool:
        ok = commit(self.store, self.health, records, deadline)
        self._cache.clear()
        return ok

    @property
    def counters(self) -> dict[str, int]:
        """accepted, stored, dropped_overflow, failed, write_errors, read_errors, retries, and queued (now)."""
        out = dict(self.health.counts)
        if self._writer is not None:
            out["accepted"] += self._writer.accepted
        out["queued"] = len(self._writer) if self._writer is not None else 0
        return out

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued outcome is committed (or failed); False if ``timeout_s`` ran out first."""
        done = self._writer.flush(timeout_s) if self._writer is not None else True
        self._cache.clear()
        return done

    def close(self) -> None:
        """Flush (for at most ``close_timeout_s``), stop the writer and close the store; called at interpreter exit."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._atexit)
        if self._writer is not None:
            left = self._writer.close(self.close_timeout_s)
            if left:
                self.health.count("failed", left)
                log.error("router_plugins: %d acknowledged outcome(s) could not be stored within close_timeout_s=%gs "
                          "and are lost (counted in OnlineFeedback.counters['failed'])", left, self.close_timeout_s)
        closer = getattr(self.store, "close", None)
        if callable(closer):
            closer()

    def __enter__(self) -> OnlineFeedback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scoring -----------------------------------------------------------------------------------------------------
    def _stats(self, key: str) -> Stats:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.refresh_s:
            return hit[1]
        try:
            stats = self.store.read([key])
        except Exception as exc:  # noqa: BLE001 - a failing store must not fail every plan
            self.health.count("read_errors")
            fault = self.health.classify(exc)
            self.health.failed("read", fault,
                               "; plans use the last statistics read (or the scorer alone) until it recovers")
            reset = getattr(self.store, "reset", None)
            if fault.transient and callable(reset):
                try:
                    reset()  # a broken connection is reopened on the next read
                except Exception:  # noqa: BLE001 - the next read reconnects anyway
                    pass
            stats = hit[1] if hit is not None else {}
        else:
            self.health.recovered("read")
        self._cache[key] = (now, stats)  # also after a failure: the broken store is asked again after refresh_s
        return stats

    def adjust(self, task: str | None, models: Iterable[str], scores: Sequence[float]) -> list[float]:
        """The scorer's ``scores`` shrunk towards the observed qualities (plus the exploration bonus)."""
        k = self.prior_strength
        task = _clean(task) if task else task
        overall = self._stats(ALL_TASKS)
        local = self._stats(task) if task else {}
        out = []
        names = [_clean(m) for m in models]
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
        """Shrink the scorer's prediction for one query towards the observed qualities."""
        scores = yield
        return None if scores is None else self.adjust(query.task, pool.names, scores)

    @hookimpl(wrapper=True)
    def score_batch(self, queries: Any, pool: Any, context: Any) -> Any:
        """Shrink the scorer's predictions for a batch of queries towards the observed qualities."""
        rows = yield
        if rows is None:
            return None
        return [self.adjust(q.task, pool.names, row) for q, row in zip(queries, rows, strict=True)]
