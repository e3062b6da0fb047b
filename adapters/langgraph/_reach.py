"""What a graph can reach, and which conditional edges fan out with ``Send``: the checks that keep pruning safe.

Pruning must never make a kept node unreachable. :func:`unreachable` compares what START reaches in the original
structure with what it reaches after a rewrite. :func:`send_targets` finds the nodes a conditional edge may
``Send(...)`` to: a ``Send`` carries its own payload, so its target cannot be skipped the way a plain edge can (the
node after it would run on the graph state without the mapped results), and such targets stay required.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from langgraph.constants import END, START

__all__ = ["may_send", "reachable", "send_targets", "unreachable"]

Join = tuple[tuple[str, ...], str]


def _code_objects(code: types.CodeType) -> Iterable[types.CodeType]:
    yield code
    for const in code.co_consts:  # comprehensions and nested functions (before Python 3.12 they are separate code)
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _function(obj: Any) -> Callable[..., Any] | None:
    """The plain function behind a branch path (RunnableLambda/RunnableCallable, partials, methods, decorators)."""
    for _ in range(8):  # bounded: wrappers of wrappers
        if isinstance(obj, types.FunctionType):
            return obj
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, types.MethodType):
            obj = obj.__func__
        elif getattr(obj, "__wrapped__", None) is not None:
            obj = obj.__wrapped__
        elif getattr(obj, "func", None) is not None or getattr(obj, "afunc", None) is not None:
            obj = getattr(obj, "func", None) or getattr(obj, "afunc", None)
        elif isinstance(inspect.getattr_static(type(obj), "__call__", None), types.FunctionType):
            obj = type(obj).__call__  # a callable object: its class's __call__
        else:
            return None
    return None


def may_send(path: Any) -> bool:
    """True when a branch's path function names ``Send`` in its code (so it may fan out with ``Send``).

    A static look at the function's own code: a ``Send`` built in a helper it calls is not seen; such fan-outs are
    re-wired at run time instead (see ``_rewire._remapped_branch``).
    """
    func = _function(path)
    code = getattr(func, "__code__", None)
    if code is None:
        return False
    return any("Send" in c.co_names for c in _code_objects(code))


def send_targets(branches: Mapping[str, Mapping[str, Any]], nodes: Iterable[str]) -> dict[str, str]:
    """Node → why it may receive ``Send`` fan-out (a branch that builds Sends, and the nodes it may route to)."""
    names = list(nodes)
    out: dict[str, str] = {}
    for src, bs in branches.items():
        for branch in bs.values():
            if not may_send(branch.path):
                continue
            dests = names if branch.ends is None else [d for d in branch.ends.values() if d != END]
            for dest in dests:
                out.setdefault(
                    dest,
                    f"it may receive Send(...) fan-out from the conditional edge of {src!r}: a Send carries its own "
                    "input, so the nodes after it cannot run in its place",
                )
    return out


def reachable(
    nodes: Iterable[str],
    edges: Iterable[tuple[str, str]],
    joins: Iterable[Join],
    branches: Mapping[str, Mapping[str, Any]],
    ends: Mapping[str, Iterable[str]],
) -> set[str]:
    """Nodes START may reach: plain edges, branch destinations (every node when unknown), ``Command(goto)``
    destinations, and a join's end once all its starts are reached."""
    names = set(nodes)
    succ: dict[str, set[str]] = {}
    for s, d in edges:
        succ.setdefault(s, set()).add(d)
    for src, bs in branches.items():
        for b in bs.values():
            succ.setdefault(src, set()).update(names | {END} if b.ends is None else set(b.ends.values()))
    for src, dests in ends.items():
        succ.setdefault(src, set()).update(dests)
    seen, todo = {START}, [START]
    pending = list(joins)
    while todo:
        node = todo.pop()
        for nxt in succ.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
        if not todo:  # joins fire once every start is reached; re-check them when the frontier is exhausted
            fired = [j for j in pending if j[1] not in seen and all(s in seen for s in j[0])]
            for _, end in fired:
                seen.add(end)
                todo.append(end)
            pending = [j for j in pending if j[1] not in seen]
    return seen


def unreachable(before: set[str], after: set[str], dropped: Iterable[str]) -> list[str]:
    """Kept user nodes that START reached before a rewrite and no longer reaches after it."""
    gone = set(dropped) | {START, END}  # END: a run also ends when nothing is left to run
    return sorted(n for n in before - after if n not in gone)
