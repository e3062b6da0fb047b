"""Every outcome store (memory, SQLite, PostgreSQL, Redis — the servers real, on loopback) behaves the same."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from router_plugins import ConfigError
from router_plugins.online import (MemoryOutcomeStore, OnlineFeedback, SQLiteOutcomeStore, StoreError,
                                   aggregate, open_store)
from router_plugins.outcome import Outcome, RoleOutcome
from router_plugins.plan import Plan, RoleAssignment

KINDS = ["memory", "sqlite", "postgres", "redis"]


def url_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL of each kind."""
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'outcomes.db'}"
    return str(request.getfixturevalue("pg_url" if kind == "postgres" else "redis_url"))


@pytest.fixture(params=KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return url_for(request.param, request, tmp_path)


def plan_for(task: str) -> Plan:
    return Plan(mode="single", roles=(RoleAssignment("default", "m"),), metadata={"task": task})


HOSTILE = ["'; DROP TABLE router_outcome_stats; --", "x\ny\tz\x1b[31m", "ключ:*", "stats:*", "w:model", "🙂" * 50, "%s%s",
           "{prefix}", "a" * 2000]


def test_each_store_adds_reads_and_decays_like_the_memory_store(store_url: str) -> None:
    store = open_store(store_url, decay=0.5)
    reference = MemoryOutcomeStore(decay=0.5)
    batches = [[("t", "m", 1.0), ("t", "m", 0.0), ("*", "m", 0.5)], [("t", "m", 1.0)], [("u", "n", 0.25)] * 3]
    for rows in batches:
        store.add(rows)
        reference.add(rows)
    got, want = store.read(["t", "*", "u", "absent"]), reference.read(["t", "*", "u"])
    assert got.keys() == want.keys()
    for cell, (w, t) in want.items():
        assert math.isclose(got[cell][0], w) and math.isclose(got[cell][1], t)
    # one step at a time: t,m went 1 → (0.5·1+1, 0.5·1+0) → (0.5·1.5+1, 0.5·0.5+1)
    assert got[("t", "m")] == pytest.approx((1.75, 1.25))
    getattr(store, "close", lambda: None)()


def test_hostile_task_and_model_names_are_stored_verbatim(store_url: str) -> None:
    store = open_store(store_url)
    store.add([(name, name, 1.0) for name in HOSTILE] + [("*", name, 0.5) for name in HOSTILE])
    got = store.read(HOSTILE)
    assert got == {(name, name): (1.0, 1.0) for name in HOSTILE}
    assert store.read(["*"]) == {("*", name): (1.0, 0.5) for name in HOSTILE}
    getattr(store, "close", lambda: None)()


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_a_retried_batch_is_applied_once(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    store = open_store(url_for(kind, request, tmp_path))
    for _ in range(3):  # the same batch id: a retry after a lost acknowledgement
        store.add([("t", "m", 1.0)], batch_id="batch-1")  # type: ignore[call-arg]
    store.add([("t", "m", 1.0)], batch_id="batch-2")  # type: ignore[call-arg]
    assert store.read(["t"]) == {("t", "m"): (2.0, 2.0)}
    store.close()  # type: ignore[attr-defined]


def test_unstorable_characters_in_names_do_not_poison_a_batch(store_url: str) -> None:
    online = OnlineFeedback(store_url)
    for task in ("nul\0task", "lone\ud800surrogate", "fine"):
        online.record(plan_for(task), Outcome(roles=(RoleOutcome("default", "m\0odel"),), score=1.0))
    online.flush()
    assert online.counters["stored"] == 3 and online.counters["failed"] == 0
    assert online.store.read(["nul\ufffdtask", "lone\ufffdsurrogate", "fine"]) == {
        (k, "m\ufffdodel"): (1.0, 1.0) for k in ("nul\ufffdtask", "lone\ufffdsurrogate", "fine")}
    assert online.adjust("lone\ud800surrogate", ["m\0odel"], [0.5])[0] > 0.5  # reads clean the same way
    online.close()


def test_aggregate_folds_a_batch_into_one_update_per_cell() -> None:
    cells = aggregate([("t", "m", 1.0), ("t", "m", 0.0), ("t", "n", 1.0)], 0.5)
    assert [(c.key, c.model, c.factor, c.weight, c.total) for c in cells] == [
        ("t", "m", 0.25, 1.5, 0.5), ("t", "n", 0.5, 1.0, 1.0)]


def test_urls_choose_the_store(tmp_path: Path) -> None:
    assert isinstance(open_store(None), MemoryOutcomeStore)
    assert isinstance(open_store("memory://"), MemoryOutcomeStore)
    rel = open_store(str(tmp_path / "a.db"))
    assert isinstance(rel, SQLiteOutcomeStore) and rel.path == tmp_path / "a.db"
    absolute = open_store(f"sqlite:///{tmp_path / 'b.db'}")  # sqlite:/// + /abs/path = four slashes
    assert isinstance(absolute, SQLiteOutcomeStore) and absolute.path == tmp_path / "b.db"
    with pytest.raises(ConfigError, match="unknown outcome store URL scheme 'mysql'"):
        open_store("mysql://u:pw@h/db")
    with pytest.raises(ConfigError, match=r"sqlite:///relative"):
        open_store("sqlite://")
    with pytest.raises(ConfigError, match="add\\(\\) and read\\(\\)"):
        open_store(42)  # type: ignore[arg-type]


def test_unreachable_servers_are_config_errors_without_the_password() -> None:
    pytest.importorskip("psycopg")
    pytest.importorskip("redis")
    with pytest.raises(ConfigError, match="PostgreSQL outcome store") as err:
        open_store("postgresql://bob:hunter2@127.0.0.1:1/db?connect_timeout=1")
    assert "hunter2" not in str(err.value)
    with pytest.raises(ConfigError, match="Redis outcome store") as err:
        open_store("redis://:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in str(err.value)


def test_a_postgres_table_of_another_shape_is_refused(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("CREATE TABLE router_outcome_stats (id INT PRIMARY KEY)")
    with pytest.raises(ConfigError, match="belongs to something else"):
        open_store(pg_url)


def test_read_only_postgres_after_start_is_one_error_and_counters(pg_url: str, caplog: pytest.LogCaptureFixture
                                                                  ) -> None:
    import psycopg

    online = OnlineFeedback(pg_url, durable=True, retry_s=5.0)
    assert online.record(plan_for("math"), Outcome(score=1.0))
    dbname = pg_url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute(f"ALTER DATABASE {dbname} SET default_transaction_read_only = on")
        db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                   "AND pid <> pg_backend_pid()", (dbname,))
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        for _ in range(3):
            with pytest.raises(StoreError):
                online.record(plan_for("math"), Outcome(score=1.0))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "read-only" in errors[0]
    assert online.counters["failed"] == 3 and online.counters["stored"] == 1
    online.close()


def test_redis_wrong_key_types_and_a_read_only_replica_are_reported_once(
        redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    import redis

    online = OnlineFeedback(redis_url, durable=True, retry_s=2.0)
    prefix = redis_url.split("prefix=")[1]
    client = redis.Redis.from_url(redis_url.split("?")[0])
    client.set(f"{prefix}stats:math", "not a hash")
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        for _ in range(3):
            with pytest.raises(StoreError):
                online.record(plan_for("math"), Outcome(score=1.0))
        assert online.adjust("math", ["m"], [0.5]) == [0.5]  # unreadable: the scorer alone, no exception
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "wrong schema" in errors[0] and "cannot read" in errors[1]
    assert online.counters["failed"] == 3 and online.counters["read_errors"] >= 1
    assert client.hgetall(f"{prefix}stats:*") == {}  # the batch was refused whole, not half-applied
    online.close()

    caplog.clear()
    online = OnlineFeedback(redis_url, durable=True, retry_s=2.0)
    client.replicaof("127.0.0.1", "1")  # a replica of nothing: every write is refused READONLY
    try:
        with caplog.at_level(logging.WARNING, logger="router_plugins"):
            for _ in range(2):
                with pytest.raises(StoreError):
                    online.record(plan_for("poetry"), Outcome(score=1.0))
    finally:
        client.replicaof("no", "one")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "read-only" in errors[0]
    assert online.record(plan_for("poetry"), Outcome(score=1.0))  # writable again: it recovers
    online.close()
    client.close()
