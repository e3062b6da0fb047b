"""Embedding cache keyed by a salted hash of (encoder id, text): in memory, and on disk under the cache dir.

The disk cache lives under ``$ROUTER_PLUGINS_CACHE`` if set, else ``$XDG_CACHE_HOME/router-plugins``, else
``~/.cache/router-plugins`` — never inside the repository. Shards are ``.npz`` files read with ``allow_pickle=False``,
created 0600 in folders created 0700. Keys are HMAC-SHA256 under a random per-installation salt (``salt``, 0600, in
the cache's root), so someone holding the cache alone cannot hash a text and test whether it was ever routed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from router_plugins._files import private_dir, read_or_create_secret

CACHE_ENV = "ROUTER_PLUGINS_CACHE"


def cache_dir() -> Path:
    """Root of router-plugins' on-disk caches (env ``ROUTER_PLUGINS_CACHE``, then XDG, then ``~/.cache``)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "router-plugins"


SALT_FILE = "salt"


def text_key(encoder_id: str, text: str, salt: bytes) -> bytes:
    """The cache key of one text under one encoder: HMAC-SHA256 of both under ``salt`` (32 raw bytes)."""
    message = encoder_id.encode("utf-8") + b"\x00" + text.encode("utf-8", "surrogatepass")
    return hmac.new(salt, message, hashlib.sha256).digest()


class EmbeddingCache:
    """Embeddings of one encoder: an in-memory LRU dict in front of optional ``.npz`` shards on disk."""

    def __init__(self, encoder_id: str, *, directory: Path | None = None, persist: bool = True,
                 memory_items: int = 200_000) -> None:
        self.encoder_id = encoder_id
        self.persist = persist
        self.memory_items = memory_items
        self.root = directory or cache_dir() / "embeddings"
        # an in-memory cache needs no stable salt; a disk cache shares one per installation (per cache root)
        self.salt = read_or_create_secret(self.root / SALT_FILE) if persist else secrets.token_bytes(32)
        safe = hmac.new(self.salt, encoder_id.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
        self.directory = self.root / safe
        self._memory: OrderedDict[bytes, NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()
        self._loaded = False

    def _load_disk(self) -> None:
        if self._loaded or not self.persist:
            self._loaded = True
            return
        self._loaded = True
        if not self.directory.is_dir():
            return
        for shard in sorted(self.directory.glob("shard-*.npz")):
            try:
                with np.load(shard, allow_pickle=False) as data:
                    keys, vectors = data["keys"], data["vectors"]
            except Exception:  # noqa: BLE001 - a corrupt shard is skipped (and recomputed), never fatal
                continue
            for k, v in zip(keys, vectors):
                self._memory[bytes(k)] = v

    def get_many(self, texts: Sequence[str]) -> tuple[list[NDArray[np.float32] | None], list[bytes]]:
        """Cached vectors (None where missing) and the keys of all texts."""
        with self._lock:
            self._load_disk()
            keys = [text_key(self.encoder_id, t, self.salt) for t in texts]
            out: list[NDArray[np.float32] | None] = []
            for k in keys:
                v = self._memory.get(k)
                if v is not None:
                    self._memory.move_to_end(k)
                out.append(v)
            return out, keys

    def put_many(self, keys: Sequence[bytes], vectors: NDArray[np.float32]) -> None:
        """Remember vectors in memory and, when persisting, in a new disk shard (written atomically)."""
        if not len(keys):
            return
        with self._lock:
            for k, v in zip(keys, vectors):
                self._memory[k] = v
                self._memory.move_to_end(k)
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)
            if not self.persist:
                return
            private_dir(self.directory)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")  # mode 0600
            os.close(fd)
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=np.frombuffer(b"".join(keys), dtype="S32"), vectors=np.asarray(vectors, np.float32))
            name = hashlib.sha256(b"".join(keys)).hexdigest()[:20]
            os.replace(tmp, self.directory / f"shard-{name}.npz")
