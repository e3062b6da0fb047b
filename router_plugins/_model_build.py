"""Building a model client is inside fail-open (issue 12.3): one client cache that the adapters share.

``Router.chat_model`` calls the ``make_chat_model`` hook, which can raise (a card without ``provider`` makes
``init_chat_model`` raise ValueError; a missing integration raises ImportError; a missing API key raises in the
client's constructor). :class:`ClientBuilder` turns any such failure into a :class:`ModelBuildError` naming the model,
its provider and the cause, and :meth:`ClientBuilder.get_or_default` falls back to the application's default model
(or the router's ``default_model``) with one WARNING per model when fail-open is on.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from router_plugins._redact import redact
from router_plugins.errors import ModelBuildError

if TYPE_CHECKING:
    from router_plugins.router import Router

__all__ = ["ClientBuilder", "build_client"]

log = logging.getLogger("router_plugins")

_MAX_CAUSE = 300  # characters of the underlying error kept in messages and run metadata


def build_client(router: Router, name: str, framework: str) -> Any:
    """``router.chat_model(name, framework)``; a failure of the hook becomes a ModelBuildError saying what to fix."""
    card = router.pool[name]  # an unknown name is a caller's bug: UnknownModelError, not a build failure
    try:
        return router.chat_model(name, framework)
    except ModelBuildError:
        raise
    except Exception as exc:
        cause = redact(f"{type(exc).__name__}: {exc}")[:_MAX_CAUSE]
        raise ModelBuildError(
            f"could not build a {framework!r} client for model {name!r} (provider {card.provider!r}): {cause}; "
            "give the card a provider (and model) your installed integrations support, or a make_chat_model plugin"
        ) from exc


class ClientBuilder:
    """One client per pool model for one framework, built once; build failures are retried on the next call
    (an API key set later makes it work) but warned about once per model."""

    def __init__(self, router: Router, framework: str) -> None:
        self.router = router
        self.framework = framework
        self.clients: dict[str, Any] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        """The client of pool model ``name``; ModelBuildError when the hook cannot build it."""
        client = self.clients.get(name)
        if client is None:
            client = build_client(self.router, name, self.framework)
            with self._lock:
                client = self.clients.setdefault(name, client)
        return client

    def get_or_default(self, name: str, default: Any = None, *, fail_open: bool | None = None) -> tuple[Any, str | None]:
        """``(client, None)``, or when it cannot be built and fail-open is on ``(fallback, why)``: the fallback is
        ``default`` (the app's model) when given, else the router's ``default_model``'s client. Raises the
        ModelBuildError when fail-open is off or no fallback can be built."""
        try:
            return self.get(name), None
        except ModelBuildError as exc:
            fail_open = self.router.fail_open if fail_open is None else fail_open
            if not fail_open:
                raise
            why = str(exc)
            if default is not None:
                self.warn(name, f"{why}; using the application's default model")
                return default, why
            fallback = self.router.default_model
            if fallback == name:
                raise
            try:
                client = self.get(fallback)
            except ModelBuildError as second:
                raise ModelBuildError(f"{why}; and the default model failed too: {second}") from exc
            self.warn(name, f"{why}; using the router's default model {fallback!r}")
            return client, why

    def warn(self, name: str, message: str) -> None:
        """Log a build fallback at WARNING, once per model."""
        with self._lock:
            if name in self._warned:
                return
            self._warned.add(name)
        log.warning("router_plugins: %s", message)

    def built(self) -> list[Any]:
        """The clients built so far."""
        return list(self.clients.values())
