"""PostgreSQL outcome store (psycopg 3): one database shared by every worker of a fleet.

A batch is one transaction: an upsert per distinct (key, model) cell plus a row in ``router_outcome_batches`` that
names the batch, so a retried batch (the commit went through but its acknowledgement was lost with the connection)
is applied once. Each thread keeps its own connection; a broken one is dropped and reopened on the next call.
Commits wait for the server's WAL flush (``synchronous_commit`` stays on) in both modes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from router_plugins._redact import redact
from router_plugins.errors import ConfigError
from router_plugins.online._store import Fault, Row, Stats, ThreadConnections, aggregate, check_decay

__all__ = ["PostgresOutcomeStore", "safe_url"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS router_outcome_stats (key TEXT NOT NULL, model TEXT NOT NULL, "
    "weight DOUBLE PRECISION NOT NULL, total DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL, "
    "PRIMARY KEY (key, model))",
    "CREATE TABLE IF NOT EXISTS router_outcome_batches (id TEXT PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now())",
)
_COLUMNS = {"key", "model", "weight", "total", "updated"}
_UPSERT = ("INSERT INTO router_outcome_stats AS s (key, model, weight, total, updated) VALUES (%s, %s, %s, %s, %s) "
           "ON CONFLICT (key, model) DO UPDATE SET weight = s.weight * %s + excluded.weight, "
           "total = s.total * %s + excluded.total, updated = excluded.updated")
#: Batch ids are kept this long: a retry comes within seconds; the table stays small.
_BATCH_TTL = "1 day"


def safe_url(url: str) -> str:
    """``url`` with its password (and any other credential) masked, for messages and logs."""
    return redact(url)


class PostgresOutcomeStore:
    """Statistics in PostgreSQL tables ``router_outcome_stats`` / ``router_outcome_batches`` (created if missing)."""

    supports_batch_id = True

    def __init__(self, url: str, *, decay: float = 1.0, connect_timeout_s: float = 5.0) -> None:
        try:
            import psycopg
        except ImportError:
            raise ConfigError("a postgresql:// outcome store needs psycopg 3: pip install 'router-plugins[stores]'"
                              ) from None
        self._psycopg = psycopg
        self.url = url
        self.decay = check_decay(decay)
        self.connect_timeout_s = connect_timeout_s
        self._conns = ThreadConnections(self._connect, is_usable=lambda db: not db.closed)
        self._batches = 0
        try:
            db = self._db()
            with db.transaction():
                # concurrent CREATE TABLE IF NOT EXISTS can collide in the catalogue: one worker creates at a time
                db.execute("SELECT pg_advisory_xact_lock(hashtext('router_outcome_stats'))")
                for statement in _SCHEMA:
                    db.execute(statement)
            columns = {r[0] for r in db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'router_outcome_stats' "
                "AND table_schema = current_schema()").fetchall()}
        except psycopg.Error as exc:
            self.close()
            raise ConfigError(f"cannot use the PostgreSQL outcome store at {safe_url(url)}: "
                              f"{redact(str(exc)).strip()}; check the URL and that the server runs") from None
        if not _COLUMNS <= columns:
            self.close()
            raise ConfigError(f"{safe_url(url)}: table router_outcome_stats has columns {sorted(columns)}, not "
                              f"{sorted(_COLUMNS)}; it belongs to something else, use another database or schema")

    def _connect(self) -> Any:
        return self._psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self.connect_timeout_s)))

    def _db(self) -> Any:
        return self._conns.get()

    def add(self, rows: Sequence[Row], *, batch_id: str | None = None) -> None:
        """Apply a batch in one transaction; a batch whose id was already applied is skipped (idempotent retry)."""
        cells = aggregate(rows, self.decay)
        now = time.time()
        batch_id = batch_id or uuid.uuid4().hex
        db = self._db()
        with db.transaction():
            fresh = db.execute("INSERT INTO router_outcome_batches (id) VALUES (%s) ON CONFLICT DO NOTHING "
                               "RETURNING id", (batch_id,)).fetchone()
            if fresh is None:
                return  # applied by an earlier attempt whose acknowledgement was lost
            with db.cursor() as cur:
                cur.executemany(_UPSERT, [(c.key, c.model, c.weight, c.total, now, c.factor, c.factor)
                                          for c in cells])
        self._batches += 1
        if self._batches % 1000 == 0:  # keep the id table small
            db.execute(f"DELETE FROM router_outcome_batches WHERE at < now() - interval '{_BATCH_TTL}'")

    def read(self, keys: Sequence[str]) -> Stats:
        """The cells of ``keys``."""
        rows = self._db().execute("SELECT key, model, weight, total FROM router_outcome_stats WHERE key = ANY(%s)",
                                  (list(dict.fromkeys(keys)),)).fetchall()
        return {(k, m): (w, t) for k, m, w, t in rows}

    def classify(self, exc: BaseException) -> Fault:
        """Lost connections and serialisation conflicts are transient; schema, permission, read-only are not."""
        errors = self._psycopg.errors
        text = redact(str(exc)).strip()
        if isinstance(exc, (errors.UndefinedTable, errors.UndefinedColumn)):
            return Fault(f"wrong schema ({text}): router_outcome_stats was dropped or altered", False)
        if isinstance(exc, errors.ReadOnlySqlTransaction):
            return Fault(f"the database is read-only ({text})", False)
        if isinstance(exc, errors.InsufficientPrivilege):
            return Fault(f"no permission to write ({text})", False)
        if isinstance(exc, (errors.DataCorrupted, errors.IndexCorrupted)):
            return Fault(f"the database reports corruption ({text})", False)
        if isinstance(exc, (self._psycopg.OperationalError, self._psycopg.InterfaceError,
                            errors.SerializationFailure, errors.DeadlockDetected)):
            return Fault(f"the server is unreachable or restarting ({text})", True)
        return Fault(f"{type(exc).__name__}: {text}", False)

    def reset(self) -> None:
        """Drop this thread's connection (reopened on the next call)."""
        self._conns.reset()

    def close(self) -> None:
        """Close every thread's connection."""
        self._conns.close()
