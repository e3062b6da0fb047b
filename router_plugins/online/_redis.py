"""Redis outcome store (redis-py): one hash per statistics key, updated by a Lua script (atomic per batch).

A batch runs as one script: it first sets a marker key for the batch id (``SET NX EX``) and applies nothing if the
marker exists, so a retried batch is applied once. Fields are ``w:<model>`` (weight) and ``t:<model>`` (quality sum)
in the hash ``<prefix>stats:<key>``. What a commit means here is the server's: with ``appendonly yes`` and
``appendfsync always`` an acknowledged batch survives a server crash; otherwise (Redis's default) it survives only a
clean restart, and durable mode logs a warning saying so when it can read the server's configuration.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from router_plugins._redact import redact
from router_plugins.errors import ConfigError
from router_plugins.online._store import Fault, Row, Stats, aggregate, check_decay

__all__ = ["RedisOutcomeStore"]

log = logging.getLogger("router_plugins")

_ADD = """
for i = 2, #KEYS do  -- check before writing: a script that fails half-way keeps its earlier writes
  local kind = redis.call('TYPE', KEYS[i])['ok']
  if kind ~= 'hash' and kind ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. kind .. ', not a hash')
  end
end
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return 0 end
for i = 2, #KEYS do
  local j = (i - 2) * 4 + 2
  local model, f, w, t = ARGV[j], tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3])
  if f == 1 then
    redis.call('HINCRBYFLOAT', KEYS[i], 'w:' .. model, ARGV[j + 2])
    redis.call('HINCRBYFLOAT', KEYS[i], 't:' .. model, ARGV[j + 3])
  else
    local old_w = tonumber(redis.call('HGET', KEYS[i], 'w:' .. model) or '0')
    local old_t = tonumber(redis.call('HGET', KEYS[i], 't:' .. model) or '0')
    redis.call('HSET', KEYS[i], 'w:' .. model, string.format('%.17g', old_w * f + w),
               't:' .. model, string.format('%.17g', old_t * f + t))
  end
end
return 1
"""
#: Seconds a batch marker lives: retries come within seconds.
_BATCH_TTL_S = 86_400


class RedisOutcomeStore:
    """Statistics in Redis hashes under a key prefix (``?prefix=`` in the URL, default ``router_plugins:``)."""

    supports_batch_id = True

    def __init__(self, url: str, *, decay: float = 1.0, durable: bool = False, timeout_s: float = 5.0) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigError("a redis:// outcome store needs redis-py: pip install 'router-plugins[stores]'") from None
        self._redis = redis
        self.url = url
        self.decay = check_decay(decay)
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.prefix = query.pop("prefix", ["router_plugins:"])[0]
        client_url = url if parts.scheme != "redis+unix" else "unix" + url[len("redis+unix"):]
        if "prefix=" in client_url:
            client_url = client_url.split("?", 1)[0] + ("?" + "&".join(f"{k}={v[0]}" for k, v in query.items())
                                                        if query else "")
        try:
            self._client = redis.Redis.from_url(client_url, socket_timeout=timeout_s,
                                                socket_connect_timeout=timeout_s, retry_on_timeout=False)
            self._script = self._client.register_script(_ADD)
            self._client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise ConfigError(f"cannot use the Redis outcome store at {redact(url)}: {redact(str(exc))}; check the "
                              "URL and that the server runs") from None
        if durable:
            self._warn_if_not_persistent()

    def _warn_if_not_persistent(self) -> None:
        try:
            cfg = self._client.config_get("append*")
        except self._redis.RedisError:
            log.warning("router_plugins: cannot read the Redis server's persistence settings (CONFIG is disabled); "
                        "durable mode survives a server crash only with appendonly yes and appendfsync always")
            return
        if cfg.get("appendonly") != "yes" or cfg.get("appendfsync") != "always":
            log.warning("router_plugins: the Redis server at %s runs with appendonly=%s appendfsync=%s: acknowledged "
                        "outcomes are lost if the server crashes; set appendonly yes and appendfsync always",
                        redact(self.url), cfg.get("appendonly"), cfg.get("appendfsync"))

    def _key(self, key: str) -> str:
        return f"{self.prefix}stats:{key}"

    def add(self, rows: Sequence[Row], *, batch_id: str | None = None) -> None:
        """Apply a batch atomically; a batch whose id was already applied is skipped (idempotent retry)."""
        cells = aggregate(rows, self.decay)
        keys = [f"{self.prefix}batch:{batch_id or uuid.uuid4().hex}"] + [self._key(c.key) for c in cells]
        args: list[Any] = [_BATCH_TTL_S]
        for c in cells:
            args += [c.model, repr(c.factor), repr(c.weight), repr(c.total)]
        self._script(keys=keys, args=args)

    def read(self, keys: Sequence[str]) -> Stats:
        """The cells of ``keys``."""
        keys = list(dict.fromkeys(keys))
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(self._key(key))
        out: Stats = {}
        for key, fields in zip(keys, pipe.execute(), strict=True):
            for field, value in fields.items():
                name = field.decode("utf-8", "surrogateescape")
                if name.startswith("w:"):
                    model = name[2:]
                    total = fields.get(("t:" + model).encode("utf-8", "surrogateescape"), b"0")
                    out[(key, model)] = (float(value), float(total))
        return out

    def classify(self, exc: BaseException) -> Fault:
        """Lost connections are transient; a wrong key type, a read-only replica or a failing disk are not."""
        text = redact(str(exc))
        if isinstance(exc, self._redis.ReadOnlyError) or "READONLY" in text:
            return Fault(f"the server is a read-only replica ({text})", False)
        if "WRONGTYPE" in text:
            return Fault(f"wrong schema ({text}): a key under {self.prefix!r} is not a hash", False)
        if "MISCONF" in text:
            return Fault(f"the server cannot persist and refuses writes ({text})", False)
        if isinstance(exc, (self._redis.ConnectionError, self._redis.TimeoutError)) or "LOADING" in text:
            return Fault(f"the server is unreachable or restarting ({text})", True)
        return Fault(f"{type(exc).__name__}: {text}", False)

    def reset(self) -> None:
        """Drop pooled connections (redis-py reconnects on the next command)."""
        self._client.connection_pool.disconnect()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
