"""Committing outcomes: retries with reconnects, failure reporting with counters, and the bounded background queue.

Failures are reported once, not on every batch or plan: the first failure of a kind logs an ERROR naming its cause
(corruption, wrong schema, read-only, unreachable …) and later ones only count, until a success logs the recovery.
Transient faults (a lost connection, a busy file) are retried with backoff after dropping the broken connection.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

from router_plugins._redact import redact
from router_plugins.online._store import Fault, OutcomeStore, Row

__all__ = ["AsyncWriter", "Health", "commit"]

log = logging.getLogger("router_plugins")

COUNTERS = ("accepted", "stored", "dropped_overflow", "failed", "write_errors", "read_errors", "retries")


class Health:
    """Counters of the online store, and the log-once bookkeeping of its failures."""

    def __init__(self, store: OutcomeStore) -> None:
        self.store = store
        self.counts: Counter[str] = Counter({name: 0 for name in COUNTERS})
        self._failing: dict[str, str] = {}  # operation → cause category already logged
        self._lock = threading.Lock()

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to a counter."""
        with self._lock:
            self.counts[name] += n

    def classify(self, exc: BaseException) -> Fault:
        """The store's own classification of an exception, or a generic permanent fault."""
        classify = getattr(self.store, "classify", None)
        if callable(classify):
            try:
                fault = classify(exc)
                return Fault(redact(fault.cause), fault.transient)
            except Exception:  # noqa: BLE001 - a classifier must not hide the original failure
                pass
        return Fault(f"{type(exc).__name__}: {redact(str(exc))}", False)

    def failed(self, op: str, fault: Fault, detail: str = "", level: int = logging.ERROR) -> None:
        """Log (an ERROR by default) the first time ``op`` fails for this kind of cause; later failures only count."""
        category = fault.cause.split(" (", 1)[0].split(":", 1)[0]
        with self._lock:
            if self._failing.get(op) == category:
                return
            self._failing[op] = category
        log.log(level, "router_plugins: online feedback cannot %s the outcome store %s: %s%s (counted in "
                "OnlineFeedback.counters; logged again only after a recovery)", op, redact(str(getattr(self.store, "url", type(self.store).__name__))), fault.cause, detail)

    def recovered(self, op: str) -> None:
        """Note a success; if ``op`` was failing, log that it works again."""
        if op not in self._failing:
            return
        with self._lock:
            cause = self._failing.pop(op, None)
        if cause is not None:
            log.warning("router_plugins: the outcome store can %s again (it failed with: %s)", op, cause)


def commit(store: OutcomeStore, health: Health, records: list[list[Row]],
           deadline: Callable[[], float | None]) -> bool:
    """Write ``records`` as one batch, retrying transient faults until ``deadline()`` (monotonic; None = no limit).
    Returns whether they were stored; failures are counted and reported through ``health``."""
    rows = [row for record in records for row in record]
    batch_id = uuid.uuid4().hex  # the same id on every retry: an applied batch is not applied twice
    with_id = bool(getattr(store, "supports_batch_id", False))
    delay = 0.02
    while True:
        try:
            if with_id:
                store.add(rows, batch_id=batch_id)  # type: ignore[call-arg]
            else:
                store.add(rows)
        except Exception as exc:  # noqa: BLE001 - any store failure is classified, counted and reported
            health.count("write_errors")
            fault = health.classify(exc)
            limit = deadline()
            if not fault.transient or (limit is not None and time.monotonic() + delay > limit):
                if not fault.transient:
                    health.recovered("reach")  # the server answered; what fails is the write itself
                health.count("failed", len(records))
                health.failed("write to", fault, f"; {len(records)} outcome(s) lost")
                return False
            health.count("retries")
            health.failed("reach", fault, "; retrying", logging.WARNING)
            reset = getattr(store, "reset", None)
            if callable(reset):
                try:
                    reset()
                except Exception:  # noqa: BLE001 - the next attempt reconnects anyway
                    pass
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            continue
        health.count("stored", len(records))
        health.recovered("reach")
        health.recovered("write to")
        return True


class AsyncWriter:
    """A bounded queue of records and the daemon thread that commits them in batches (one transaction each).

    The writer wakes every ``interval_s``, when a full batch is waiting, or on flush/close — not on every record:
    waking a thread per record costs the caller a GIL hand-off (milliseconds on a busy machine)."""

    def __init__(self, write: Callable[[list[list[Row]], Callable[[], float | None]], bool], *,
                 max_queue: int, max_batch: int, put_timeout_s: float | None, interval_s: float = 0.05) -> None:
        self._write = write
        self.max_queue, self.max_batch, self.put_timeout_s = max_queue, max_batch, put_timeout_s
        self.interval_s = interval_s
        self._flushing = 0
        self._cond = threading.Condition()
        self._pending: list[list[Row]] = []
        self._enqueued = 0  # records accepted so far (the "accepted" counter in async mode)
        self._done = 0
        self._closed = False
        self._deadline: float | None = None
        self._thread = threading.Thread(target=self._run, name="router-online-writer", daemon=True)
        self._thread.start()

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def accepted(self) -> int:
        """Records accepted into the queue so far."""
        return self._enqueued

    def put(self, record: list[Row]) -> bool:
        """Queue one record; if the queue is full wait up to ``put_timeout_s`` for room, else refuse it (False)."""
        with self._cond:
            if self._closed:
                return False
            if len(self._pending) >= self.max_queue:
                if not self._cond.wait_for(lambda: len(self._pending) < self.max_queue or self._closed,
                                           self.put_timeout_s) or self._closed:
                    return False
            self._pending.append(record)
            self._enqueued += 1
            if len(self._pending) == self.max_batch:
                self._cond.notify_all()
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: len(self._pending) >= self.max_batch or self._flushing or self._closed,
                                    self.interval_s)
                if not self._pending:
                    if self._closed:
                        return
                    continue
                if len(self._pending) <= self.max_batch:
                    batch, self._pending = self._pending, []
                else:
                    batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
                self._cond.notify_all()  # room for producers waiting on a full queue
            try:
                self._write(batch, lambda: self._deadline)
            finally:
                with self._cond:
                    self._done += len(batch)
                    self._cond.notify_all()

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every record queued so far is committed (or failed); False on timeout."""
        with self._cond:
            target = self._enqueued
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: self._done >= target, timeout_s)
            finally:
                self._flushing -= 1

    def close(self, timeout_s: float) -> int:
        """Flush for at most ``timeout_s`` (retries stop at that deadline), stop the thread; returns records left."""
        self._deadline = time.monotonic() + timeout_s
        self.flush(timeout_s)
        with self._cond:
            self._closed = True
            left = len(self._pending)
            self._pending = []
            self._done += left
            self._cond.notify_all()
        self._thread.join(max(0.0, self._deadline - time.monotonic()) + 1.0)
        return left
