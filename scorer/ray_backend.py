"""Ray for large offline work (``train`` / ``eval --ray [ADDRESS]``): the embedding pass and the evaluation's λ-sweep
and bootstrap chunks as Ray tasks.

Only ``--ray`` imports this module; routing never does. Each worker process builds the encoder once from an
:class:`EncoderSpec` (a kind and a folder, never a pickled model) and encodes the same 512-text batches the
single-process pass encodes, so the embeddings, the disk cache they land in and everything computed from them are the
same. Texts travel once: each call's texts are packed into one byte buffer, ``ray.put`` once and read zero-copy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.errors import ConfigError
from router_plugins.scorer.encoders import CachedEncoder, Encoder, StaticEncoder, TransformerEncoder

__all__ = ["EMBED_BATCH", "EncoderSpec", "RayBackend", "RayEncoder", "RayJob", "encode_batch", "encoder_dim",
           "pack_texts", "ray_job", "ray_session", "unpack_texts"]

#: Texts per Ray task: the single-process pass encodes in chunks of this size too, so batches (and with a
#: transformer, its padding) are the same.
EMBED_BATCH = 512
#: Batches per ``encode`` call (the chunk a CachedEncoder hands over):
#: the granularity of progress and of the disk cache's shards.
BATCHES_PER_CALL = 64


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--ray needs Ray: pip install 'router-plugins[ray]' (README section 'The trained scorer')") \
            from exc
    return ray


@contextmanager
def ray_session(address: str = "local", *, num_cpus: int | None = None, temp_dir: str | None = None) -> Iterator[Any]:
    """Ray connected for the duration: a Ray already initialised in this process is used as is; ``"local"`` starts a
    private one on this machine (loopback, no dashboard, usage reporting off) and stops it after; anything else is a
    cluster address (``ray://host:10001`` or ``host:6379``) to connect to and disconnect from after."""
    if address == "local" and "ray" not in sys.modules:
        # read by Ray when it is imported: a local Ray then listens on loopback only, and never reports usage
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    if address == "local":
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                 _temp_dir=temp_dir)
    else:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"--ray {address}: cannot connect to a Ray cluster there ({exc}); start one with "
                              "'ray start --head' or pass --ray alone for a local Ray") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def pack_texts(texts: Sequence[str]) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """All texts as one UTF-8 byte buffer and their end offsets: two arrays Ray stores once and workers read
    zero-copy (a list of strings would be unpickled whole by every task)."""
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), ends


def unpack_texts(buffer: NDArray[np.uint8], ends: NDArray[np.int64], start: int, stop: int) -> list[str]:
    """Texts ``start:stop`` of a :func:`pack_texts` buffer."""
    base = int(ends[start - 1]) if start else 0
    raw = buffer[base:int(ends[stop - 1])].tobytes() if stop > start else b""
    out, lo = [], 0
    for i in range(start, stop):
        hi = int(ends[i]) - base
        out.append(raw[lo:hi].decode("utf-8", "surrogatepass"))
        lo = hi
    return out


@dataclass(frozen=True)
class EncoderSpec:
    """How a worker rebuilds an encoder: its kind, its folder and its options. The folder must exist where the
    worker runs (any path on this machine for a local Ray; on a cluster, the same path on every node)."""

    kind: str
    path: str
    #: The driver's encoder id (a fingerprint of the folder): a worker whose folder differs refuses to embed.
    id: str
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, encoder: Encoder) -> EncoderSpec:
        """The spec of a static or transformer encoder loaded from a folder (ConfigError for an in-memory model)."""
        if isinstance(encoder, StaticEncoder):
            return cls("static", str(encoder.path), encoder.id)
        if isinstance(encoder, TransformerEncoder) and encoder.path is not None:
            return cls("transformer", str(encoder.path), encoder.id, (("max_length", encoder.max_length),
                                                                      ("batch_size", encoder.batch_size),
                                                                      ("truncation_side", encoder.truncation_side)))
        raise ConfigError(f"--ray embeds with encoders loaded from a folder; {type(encoder).__name__} "
                          f"{getattr(encoder, 'id', '')!r} is not one")

    def build(self) -> Encoder:
        """The encoder itself (loads lazily, on its first text); ConfigError when its folder is not the driver's."""
        if self.kind == "static":
            encoder: Encoder = StaticEncoder(Path(self.path))
        elif self.kind == "transformer":
            encoder = TransformerEncoder(Path(self.path), **dict(self.options))
        else:
            raise ConfigError(f"unknown encoder kind {self.kind!r} (static or transformer)")
        if encoder.id != self.id:
            raise ConfigError(f"the encoder folder {self.path!r} on this Ray node is not the driver's ({encoder.id} "
                              f"≠ {self.id}); install the same folder at the same path on every node")
        return encoder


#: Encoders built in this worker process, by spec: a worker builds each once and reuses it for every later batch.
_BUILT: dict[EncoderSpec, Encoder] = {}


def _encoder_for(spec: EncoderSpec) -> Encoder:
    if spec not in _BUILT:
        _BUILT[spec] = spec.build()
    return _BUILT[spec]


def encode_batch(spec: EncoderSpec, packed: tuple[NDArray[np.uint8], NDArray[np.int64]], start: int,
                 stop: int) -> NDArray[np.float32]:
    """Embeddings of texts ``start:stop`` of a packed buffer (the unit of work of a Ray embedding pass)."""
    return np.asarray(_encoder_for(spec).encode(unpack_texts(*packed, start, stop)), dtype=np.float32)


def encoder_dim(spec: EncoderSpec) -> int:
    """The dimension of the encoder a spec builds, asked of a worker (the driver need not load the model)."""
    return int(_encoder_for(spec).dim)


class RayEncoder:
    """An :class:`Encoder` whose texts are embedded by one-CPU Ray tasks, :data:`EMBED_BATCH` texts each, results in
    order. Tasks (not actors) hold a CPU only while they run, so the evaluation's tasks are never starved; each worker
    process builds the encoder once. Wrap it in a :class:`~router_plugins.scorer.encoders.CachedEncoder` as any
    encoder: its id is the local encoder's, so it reads and fills the same disk cache."""

    def __init__(self, encoder: Encoder) -> None:
        self.spec = EncoderSpec.of(encoder)
        self.id = encoder.id
        self.chunk_size = EMBED_BATCH * BATCHES_PER_CALL
        self._ray = _ray()
        self._encode = self._ray.remote(num_cpus=1)(encode_batch)
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        """The embedding width, asked of a worker once."""
        if self._dim is None:
            self._dim = int(self._ray.get(self._ray.remote(num_cpus=1)(encoder_dim).remote(self.spec)))
        return self._dim

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> NDArray[np.float32]:
        """Embeddings of ``texts`` in order; one task per :data:`EMBED_BATCH` texts."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ray = self._ray
        packed = ray.put(pack_texts(texts))  # once per call, read zero-copy by every task
        spec = ray.put(self.spec)
        bounds = [(s, min(s + EMBED_BATCH, len(texts))) for s in range(0, len(texts), EMBED_BATCH)]
        refs = [self._encode.remote(spec, packed, start, stop) for start, stop in bounds]
        size = {ref: stop - start for ref, (start, stop) in zip(refs, bounds)}
        waiting = list(refs)
        while waiting:  # progress as batches finish, whatever their order
            done, waiting = ray.wait(waiting, num_returns=1)
            if progress is not None:
                progress(sum(size[r] for r in done))
        return np.concatenate(ray.get(refs))


class RayBackend:
    """The :class:`~router_plugins.scorer.backends.Backend` of ``eval --ray``: ``put`` is ``ray.put``, ``submit`` runs
    a module-level function as a one-CPU Ray task, ``gather`` is ``ray.get``."""

    def __init__(self) -> None:
        self._ray = _ray()
        self._remote: dict[Callable[..., Any], Any] = {}

    def put(self, value: Any) -> Any:
        """An object reference; Ray hands tasks the value (numpy arrays zero-copy from shared memory)."""
        return value if value is None else self._ray.put(value)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` as a Ray task; ``fn`` must be importable by the workers (module level)."""
        if fn not in self._remote:
            self._remote[fn] = self._ray.remote(num_cpus=1)(fn)
        return self._remote[fn].remote(*args, **kwargs)

    def gather(self, handles: Sequence[Any]) -> list[Any]:
        """The results, in order."""
        return list(self._ray.get(list(handles)))


class RayJob:
    """What ``--ray`` gives ``train`` and ``eval``: encoders whose misses are embedded on Ray, and the evaluation's
    :class:`RayBackend`."""

    def __init__(self) -> None:
        self.backend = RayBackend()

    def encoder(self, encoder: Encoder, *, persist: bool = True) -> CachedEncoder:
        """``encoder`` (a plain one, or the inner one of a CachedEncoder) embedding on Ray behind the usual cache."""
        inner = encoder.encoder if isinstance(encoder, CachedEncoder) else encoder
        return CachedEncoder(RayEncoder(inner), persist=persist)


@contextmanager
def ray_job(address: str = "local", *, num_cpus: int | None = None) -> Iterator[RayJob]:
    """A :class:`RayJob` inside :func:`ray_session`."""
    with ray_session(address, num_cpus=num_cpus):
        yield RayJob()
