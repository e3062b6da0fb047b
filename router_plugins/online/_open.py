"""Choose an outcome store from what the user passed: a store object, a URL, a path or nothing."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from router_plugins._redact import redact
from router_plugins.errors import ConfigError
from router_plugins.online._store import MemoryOutcomeStore, OutcomeStore

__all__ = ["SCHEMES", "open_store"]

#: URL schemes understood by :func:`open_store`.
SCHEMES = ("memory", "sqlite", "postgresql", "postgres", "redis", "rediss", "redis+unix")


def _sqlite_path(url: str) -> Path:
    # SQLAlchemy's convention: sqlite:///relative/path, sqlite:////absolute/path
    rest = url[len("sqlite://"):]
    if not rest.startswith("/") or rest == "/":
        raise ConfigError(f"{redact(url)!r}: a SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db")
    return Path(rest[1:]).expanduser()


def open_store(spec: OutcomeStore | str | Path | None, *, decay: float = 1.0, durable: bool = False) -> OutcomeStore:
    """The store for ``spec``: an object with ``add``/``read`` as is; ``None`` or ``memory://`` in memory; a path or
    ``sqlite:///…`` a SQLite file; ``postgresql://…`` PostgreSQL; ``redis://…`` / ``rediss://…`` /
    ``redis+unix:///socket`` Redis."""
    if spec is None:
        return MemoryOutcomeStore(decay=decay)
    if isinstance(spec, Path):
        from router_plugins.online._sqlite import SQLiteOutcomeStore

        return SQLiteOutcomeStore(spec, decay=decay, durable=durable)
    if not isinstance(spec, str):
        if callable(getattr(spec, "add", None)) and callable(getattr(spec, "read", None)):
            return spec
        raise ConfigError(f"an outcome store must be a URL, a path or an object with add() and read(), "
                          f"not {type(spec).__name__}")
    if "://" not in spec:
        from router_plugins.online._sqlite import SQLiteOutcomeStore

        return SQLiteOutcomeStore(spec, decay=decay, durable=durable)
    scheme = urlsplit(spec).scheme.lower()
    if scheme == "memory":
        return MemoryOutcomeStore(decay=decay)
    if scheme == "sqlite":
        from router_plugins.online._sqlite import SQLiteOutcomeStore

        return SQLiteOutcomeStore(_sqlite_path(spec), decay=decay, durable=durable)
    if scheme in ("postgresql", "postgres"):
        from router_plugins.online._postgres import PostgresOutcomeStore

        return PostgresOutcomeStore(spec, decay=decay)
    if scheme in ("redis", "rediss", "redis+unix"):
        from router_plugins.online._redis import RedisOutcomeStore

        return RedisOutcomeStore(spec, decay=decay, durable=durable)
    raise ConfigError(f"unknown outcome store URL scheme {scheme!r} in {redact(spec)!r}; use one of "
                      + ", ".join(f"{s}://" for s in SCHEMES) + " or a file path")
