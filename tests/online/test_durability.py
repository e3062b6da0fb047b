"""What ``record`` acknowledged is stored: at normal exit (async), after kill -9 (durable), across a server restart."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from router_plugins.online import MemoryOutcomeStore, OnlineFeedback, StoreError, open_store
from router_plugins.outcome import Outcome

WORKER = str(Path(__file__).with_name("online_worker.py"))


def run_worker(*args: str, timeout: float = 120) -> str:
    done = subprocess.run([sys.executable, WORKER, *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def stored(url: str, model: str, key: str = "*") -> float:
    store = open_store(url)
    try:
        return store.read([key]).get((key, model), (0.0, 0.0))[0]
    finally:
        getattr(store, "close", lambda: None)()


def plan_for(model: str) -> Any:
    sys.path.insert(0, str(Path(WORKER).parent))
    from online_worker import plan_for as make

    return make(model)


@pytest.mark.parametrize("n", [1, 5, 20, 20_000])
def test_async_mode_stores_everything_at_normal_exit(tmp_path: Path, n: int) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    run_worker("count", url, "m", str(n), "async")  # exits without flush() or close()
    assert stored(url, "m") == n


def test_with_block_exit_stores_everything(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    run_worker("count", url, "m", "300", "with")
    assert stored(url, "m") == 300


def test_durable_mode_loses_nothing_acknowledged_on_kill_9(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    proc = subprocess.Popen([sys.executable, WORKER, "write", url, "m", "durable", "60", "0", "acks"],
                            stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    acked = 0
    for line in proc.stdout:
        if line.startswith("ack"):
            acked = int(line.split()[1])
        if acked >= 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    for line in proc.stdout:  # acknowledgements printed before the kill landed
        if line.startswith("ack"):
            acked = int(line.split()[1])
    proc.wait()
    assert acked >= 300
    assert acked <= stored(url, "m") <= acked + 1  # + the one whose commit landed before its "ack" was printed


class SlowStore(MemoryOutcomeStore):
    """Takes its time per batch and counts the batches."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0
        self.gate = threading.Event()

    def add(self, rows: Any) -> None:
        self.gate.wait(10)
        self.batches += 1
        super().add(rows)


def test_a_full_queue_drops_new_outcomes_and_counts_them(caplog: pytest.LogCaptureFixture) -> None:
    store = SlowStore()
    online = OnlineFeedback(store, max_queue=10, max_batch=4, put_timeout_s=0.0)
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        results = [online.record(plan_for("m"), Outcome(score=1.0)) for _ in range(40)]
    accepted = sum(results)
    assert 10 <= accepted <= 14 and not results[-1]  # the queue plus the batch the writer holds
    assert online.counters["dropped_overflow"] == 40 - accepted
    assert sum("queue is full" in r.getMessage() for r in caplog.records) == 1
    store.gate.set()
    assert online.flush(10)
    assert store.read(["*"])[("*", "m")][0] == accepted == online.counters["stored"]
    assert store.batches <= 5  # batched: a handful of transactions, not one per outcome
    online.close()


def test_close_with_an_unreachable_store_reports_what_is_lost(caplog: pytest.LogCaptureFixture) -> None:
    class Down(MemoryOutcomeStore):
        def add(self, rows: Any) -> None:
            raise ConnectionError("connection refused")

        def classify(self, exc: BaseException) -> Any:
            from router_plugins.online._store import Fault

            return Fault(f"unreachable ({exc})", True)

    online = OnlineFeedback(Down(), close_timeout_s=0.5)
    for _ in range(7):
        assert online.record(plan_for("m"), Outcome(score=1.0))
    with caplog.at_level(logging.ERROR, logger="router_plugins"):
        online.close()
    assert online.counters["failed"] == 7 and online.counters["retries"] >= 1
    assert any("7 outcome(s) lost" in r.getMessage() or "7 acknowledged" in r.getMessage() for r in caplog.records)


def test_sqlite_corruption_and_a_dropped_table_after_start_are_reported_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "o.db"
    online = OnlineFeedback(path, durable=True, refresh_s=0.0, retry_s=1.0)
    assert online.record(plan_for("m"), Outcome(score=1.0))
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE outcome_stats")
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        for _ in range(3):
            with pytest.raises(StoreError):
                online.record(plan_for("m"), Outcome(score=1.0))
            assert online.adjust("load", ["m"], [0.5]) == [0.5]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all("wrong schema" in e for e in errors)
    assert online.counters["failed"] == 3 and online.counters["read_errors"] == 6
    online.close()

    caplog.clear()
    online = OnlineFeedback(tmp_path / "c.db", durable=True, refresh_s=0.0, retry_s=1.0)
    online.record(plan_for("m"), Outcome(score=1.0))
    online.store.close()  # type: ignore[attr-defined]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'c.db'}{suffix}").write_bytes(b"\x13garbage" * 4096)
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        for _ in range(3):
            with pytest.raises(StoreError):
                online.record(plan_for("m"), Outcome(score=1.0))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "corrupt" in errors[0]


def test_read_only_sqlite_after_start_is_reported_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions, so a read-only file cannot be made here")
    path = tmp_path / "o.db"
    online = OnlineFeedback(path, durable=True, retry_s=1.0)
    online.record(plan_for("m"), Outcome(score=1.0))
    online.store.close()  # type: ignore[attr-defined]
    for p in tmp_path.iterdir():
        p.chmod(0o400)
    tmp_path.chmod(0o500)
    try:
        with caplog.at_level(logging.WARNING, logger="router_plugins"):
            for _ in range(2):
                with pytest.raises(StoreError):
                    online.record(plan_for("m"), Outcome(score=1.0))
    finally:
        tmp_path.chmod(0o700)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "read-only" in errors[0]


def finish(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The worker's final JSON line. Read through the same buffered pipe as its "ready" line: communicate() reads
    the raw pipe and would miss output that readline() already buffered."""
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()  # a few log lines at most: the worker logs each kind of failure once
    assert proc.wait(timeout) == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


def run_fleet(url: str, seconds: float, crash: Any = None, restart: Any = None) -> None:
    """4 writers (2 durable, 2 async) and a planner for ``seconds``; optionally crash and restart the server."""
    writers = {f"w{i}": subprocess.Popen(
        [sys.executable, WORKER, "write", url, f"w{i}", "durable" if i < 2 else "async", str(seconds),
         "0" if i < 2 else "0.0005"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)}
    planner = subprocess.Popen([sys.executable, WORKER, "plan", url, str(seconds)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for proc in [*writers.values(), planner]:  # all connected before the outage: it hits them mid-run
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()[-3000:]
    if crash is not None:
        time.sleep(seconds * 0.3)
        crash()
        time.sleep(seconds * 0.2)
        restart()
    reports = {name: finish(proc, seconds + 120) for name, proc in writers.items()}
    planned = finish(planner, seconds + 120)
    assert planned["plans"] > 50 and planned["fallbacks"] == 0
    for name, report in reports.items():
        assert report["acked"] > 0 and report["counters"]["failed"] == 0, (name, report)
        assert stored(url, name) == report["acked"], (name, report)
        assert stored(url, name, key="load") == report["acked"]
    if crash is not None:  # the writers met the outage and reconnected
        assert sum(r["counters"]["retries"] for r in reports.values()) > 0


def test_four_sqlite_writers_and_a_planner_lose_nothing(tmp_path: Path) -> None:
    run_fleet(f"sqlite:///{tmp_path / 'o.db'}", 4.0)


def test_postgres_killed_and_restarted_mid_run_loses_nothing_acknowledged(postgres: Any) -> None:
    run_fleet(postgres.database(), 10.0, postgres.crash, postgres.restart)


def test_redis_killed_and_restarted_mid_run_loses_nothing_acknowledged(redis_server: Any) -> None:
    run_fleet(f"{redis_server.url}?prefix=fleet:", 10.0, redis_server.kill, redis_server.restart)
