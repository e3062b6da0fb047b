"""Calling a first-result hook while learning which plugin answered, so a plan can say who made each decision."""

from __future__ import annotations

from typing import Any

__all__ = ["first_result"]


def first_result(caller: Any, **kwargs: Any) -> tuple[Any, str | None]:
    """(answer, name of the plugin that gave it) of a ``firstresult`` hook, in pluggy's own call order.

    With a wrapper among the implementations the hook is called the ordinary way (a wrapper may replace the
    answer), and the answer is attributed to ``"wrapper"``. No answer: (None, None).
    """
    impls = caller.get_hookimpls()
    if any(i.wrapper or i.hookwrapper for i in impls):
        answer = caller(**kwargs)
        return answer, None if answer is None else "wrapper"
    for impl in reversed(impls):  # pluggy calls the last registered (and tryfirst) implementations first
        answer = impl.function(*[kwargs[name] for name in impl.argnames])
        if answer is not None:
            return answer, impl.plugin_name
    return None, None
