"""Running a planning call under a time limit, so a hung plugin holds only its own thread and never starves the
calls after it (a fixed worker pool would fill up with hung calls and make every later plan time out)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from router_plugins.errors import PlanningError

__all__ = ["TimedCalls"]


class TimedCalls:
    """Runs calls on threads of their own with a timeout, counting those still running past it (hung).

    Past ``max_hung`` hung calls, new calls fail at once instead of adding threads without bound.
    """

    def __init__(self, max_hung: int = 16) -> None:
        self.max_hung = max_hung
        self._hung = 0
        self._lock = threading.Lock()

    @property
    def hung(self) -> int:
        """Calls still running after their timeout."""
        return self._hung

    def run(self, call: Callable[[], Any], timeout: float) -> Any:
        """``call()``'s result, or PlanningError after ``timeout`` seconds (the call keeps its thread until it ends)."""
        if self._hung >= self.max_hung:
            raise PlanningError(f"{self._hung} planning calls are hung past their timeout: a plugin does not return")
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["result"] = call()
            except BaseException as exc:  # handed to the caller
                box["error"] = exc
            finally:
                with self._lock:
                    done.set()
                    if box.pop("hung", False):
                        self._hung -= 1

        threading.Thread(target=work, name="router-plan", daemon=True).start()
        done.wait(timeout)
        with self._lock:
            if not done.is_set():
                box["hung"] = True
                self._hung += 1
                raise PlanningError(f"planning took longer than timeout_s={timeout} ({self._hung} call(s) hung now)")
        if "error" in box:
            raise box["error"]
        return box["result"]
