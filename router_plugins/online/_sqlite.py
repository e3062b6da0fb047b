"""SQLite outcome store: one file in WAL mode, shared by the threads and processes of one machine.

Each thread keeps its own connection. Async mode commits with ``synchronous=NORMAL`` (a WAL commit survives a crash
of the process; the last ones may be lost on power failure); durable mode with ``synchronous=FULL`` (fsync on every
commit). The file and its ``-wal`` / ``-shm`` companions are created 0600 in folders created 0700.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from router_plugins._files import FILE_MODE, private_file
from router_plugins.errors import ConfigError
from router_plugins.online._store import Fault, Row, Stats, ThreadConnections, aggregate, check_decay

__all__ = ["SQLiteOutcomeStore"]

_COLUMNS = {"key", "model", "weight", "total", "updated"}
_UPSERT = ("INSERT INTO outcome_stats (key, model, weight, total, updated) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (key, model) DO UPDATE SET weight = weight * ? + excluded.weight, "
           "total = total * ? + excluded.total, updated = excluded.updated")


class SQLiteOutcomeStore:
    """Statistics in a SQLite file (WAL journal: concurrent readers and writers across processes)."""

    def __init__(self, path: str | Path, *, decay: float = 1.0, timeout_s: float = 30.0, durable: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.decay = check_decay(decay)
        self.timeout_s = timeout_s
        self.durable = durable
        self._conns = ThreadConnections(self._connect)
        try:
            private_file(self.path)
            db = self._db()
            with db:
                db.execute("CREATE TABLE IF NOT EXISTS outcome_stats (key TEXT NOT NULL, model TEXT NOT NULL, "
                           "weight REAL NOT NULL, total REAL NOT NULL, updated REAL NOT NULL, "
                           "PRIMARY KEY (key, model))")
            columns = {row[1] for row in db.execute("PRAGMA table_info(outcome_stats)")}
        except (sqlite3.DatabaseError, OSError) as exc:
            self.close()
            raise ConfigError(f"{self.path} is not a usable outcome store: {exc}; point OnlineFeedback to a new "
                              "file (or delete this one)") from None
        if not _COLUMNS <= columns:
            self.close()
            raise ConfigError(f"{self.path}: table outcome_stats has columns {sorted(columns)}, not "
                              f"{sorted(_COLUMNS)}; this file belongs to something else, use another path")
        self._private_companions()

    @property
    def url(self) -> str:
        """``sqlite:///`` URL of the file."""
        return f"sqlite:///{self.path}"

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.timeout_s, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
        db.isolation_level = "DEFERRED"  # `with db:` opens and commits one transaction
        return db

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection = self._conns.get()
        return db

    def _private_companions(self) -> None:
        # SQLite gives -wal/-shm the main file's mode; make sure, in case the main file pre-existed with wider bits
        for suffix in ("-wal", "-shm"):
            companion = self.path.with_name(self.path.name + suffix)
            try:
                if companion.stat().st_uid == os.getuid():
                    os.chmod(companion, FILE_MODE)
            except OSError:
                continue

    def add(self, rows: Sequence[Row]) -> None:
        """Apply a batch of rows in one transaction (one upsert per distinct cell)."""
        now = time.time()
        db = self._db()
        with db:
            db.executemany(_UPSERT, [(c.key, c.model, c.weight, c.total, now, c.factor, c.factor)
                                     for c in aggregate(rows, self.decay)])

    def read(self, keys: Sequence[str]) -> Stats:
        """The cells of ``keys``."""
        keys = list(dict.fromkeys(keys))
        cur = self._db().execute(f"SELECT key, model, weight, total FROM outcome_stats WHERE key IN "
                                 f"({', '.join('?' * len(keys))})", keys)
        return {(k, m): (w, t) for k, m, w, t in cur.fetchall()}

    def classify(self, exc: BaseException) -> Fault:
        """Busy/locked is transient; corruption, a wrong schema, a read-only or vanished file are not."""
        text = str(exc).lower()
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            return Fault(f"the database is busy ({exc})", True)
        if "readonly" in text or "read-only" in text or "read only" in text:
            return Fault(f"the database is read-only ({exc}): check the file's and folder's permissions", False)
        if "no such table" in text or "no such column" in text or "has no column" in text:
            return Fault(f"wrong schema ({exc}): the table outcome_stats was dropped or altered", False)
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            return Fault(f"the database file is corrupt ({exc}): move it away; a new one is created on restart",
                         False)
        if "disk" in text and ("full" in text or "i/o" in text):
            return Fault(f"disk error ({exc})", False)
        return Fault(f"{type(exc).__name__}: {exc}", isinstance(exc, sqlite3.OperationalError))

    def reset(self) -> None:
        """Drop this thread's connection (a fresh one is opened on the next call)."""
        self._conns.reset()

    def close(self) -> None:
        """Close every thread's connection."""
        self._conns.close()
