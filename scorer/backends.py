"""Where the heavy, independent parts of an evaluation run: one after another in this process (:class:`LocalBackend`),
or as Ray tasks (:class:`router_plugins.scorer.ray_backend.RayBackend`, under ``eval --ray``).

Both run the same functions on the same chunks and the caller reduces the results in the same order, so a report is
the same whichever backend computed it. A caller first ``put``\\ s each large array once, then ``submit``\\ s every
chunk, then ``gather``\\ s: with Ray all chunks of all routers are in flight before the first result is awaited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = ["Backend", "LocalBackend"]


class Backend(Protocol):
    """Runs functions on arguments, possibly elsewhere; handles stand for values until gathered."""

    def put(self, value: Any) -> Any:
        """A handle to ``value`` that submitted functions receive as the value itself (shipped once)."""
        ...

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Start ``fn(*args, **kwargs)``; returns a handle to its result."""
        ...

    def gather(self, handles: Sequence[Any]) -> list[Any]:
        """The results of submitted calls, in the order of ``handles``."""
        ...


class LocalBackend:
    """Runs every call at once, here: the single-process evaluation."""

    def put(self, value: Any) -> Any:
        """The value itself."""
        return value

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The result of ``fn(*args, **kwargs)``, computed now."""
        return fn(*args, **kwargs)

    def gather(self, handles: Sequence[Any]) -> list[Any]:
        """The results, already computed."""
        return list(handles)
