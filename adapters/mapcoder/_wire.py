"""The values that cross between the trusted host and the sandboxed program: tagged JSON, data only.

This module is also sent, as source, into the sandboxed worker (it imports nothing from the project), so both sides
share one codec. What crosses is data, never code: ``None``, ``bool``, ``int``, ``float`` (NaN and ±inf too),
``complex``, ``str``, ``bytes``, and ``list`` / ``tuple`` / ``dict`` / ``set`` / ``frozenset`` of those. A subclass of
one of these is sent as its base type (a ``namedtuple`` as a ``tuple``, a ``Counter`` as a ``dict``, an ``IntEnum``
as an ``int``). Anything else (a generator, a class instance, a function) comes back as an :class:`OpaqueValue`
holding its type name and a short ``repr``; it compares equal to nothing, so a test that compares it fails.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Longest ``repr`` kept for a value that cannot cross.
REPR_CHARS = 200


class WireError(ValueError):
    """A message that is not valid tagged JSON (malformed, too deep, unknown tag, unhashable set member)."""


class OpaqueValue:
    """A value of the sandboxed program that is not data (see the module docstring); it equals nothing."""

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name, self.text = type_name, text

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.type_name} from the sandbox: {self.text}>"


_BASES = (bool, int, float, complex, str, bytes, list, tuple, dict, frozenset, set)


def encode(value: Any) -> Any:
    """``value`` as plain JSON data: lists stay lists, everything else not JSON-native becomes ``{"$": tag, ...}``."""
    if value is None:
        return None
    kind = next((base for base in _BASES if isinstance(value, base)), None)
    if kind is None:
        return _opaque(value)
    if kind is bool:
        return bool(value)
    if kind is int:
        return int.__index__(value)
    if kind is float:
        number = float.__float__(value)
        return number if math.isfinite(number) else {"$": "float", "v": repr(number)}
    if kind is complex:
        number = complex.__complex__(value)
        return {"$": "complex", "v": [encode(number.real), encode(number.imag)]}
    if kind is str:
        return str.__str__(value)
    if kind is bytes:
        return {"$": "bytes", "v": bytes(value).hex()}
    if kind is list:
        return [encode(item) for item in list(value)]
    if kind is dict:
        return {"$": "dict", "v": [[encode(k), encode(v)] for k, v in dict.items(value)]}
    return {"$": kind.__name__, "v": [encode(item) for item in list(value)]}  # tuple, set, frozenset


def _opaque(value: Any) -> dict[str, str]:
    try:
        text = repr(value)
    except BaseException:  # the value's own __repr__ is program code
        text = "?"
    return {"$": "opaque", "type": type(value).__name__[:80], "v": text[:REPR_CHARS]}


def decode(data: Any) -> Any:
    """The inverse of :func:`encode`; raises :class:`WireError` on anything it did not produce."""
    try:
        return _decode(data)
    except WireError:
        raise
    except (RecursionError, TypeError, ValueError, KeyError, IndexError) as exc:
        raise WireError(f"malformed value: {type(exc).__name__}: {str(exc)[:200]}") from None


def _decode(data: Any) -> Any:
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [_decode(item) for item in data]
    if not isinstance(data, dict):
        raise WireError(f"unexpected JSON value of type {type(data).__name__}")
    tag, value = data.get("$"), data.get("v")
    if tag == "float" and value in ("nan", "inf", "-inf"):
        return float(value)
    if tag == "complex":
        real, imag = value
        return complex(_decode(real), _decode(imag))
    if tag == "bytes":
        return bytes.fromhex(value)
    if tag == "dict":
        return {_decode(k): _decode(v) for k, v in value}
    if tag in ("tuple", "set", "frozenset"):
        items = [_decode(item) for item in value]
        return {"tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
    if tag == "opaque":
        return OpaqueValue(str(data.get("type", "?"))[:80], str(value)[:REPR_CHARS])
    raise WireError(f"unknown tag {str(tag)[:40]!r}")


def dumps(message: dict[str, Any]) -> bytes:
    """One protocol message as a line of JSON (no NaN literals: special floats are tagged)."""
    return json.dumps(message, allow_nan=False, separators=(",", ":")).encode() + b"\n"


def loads(line: bytes) -> dict[str, Any]:
    """A protocol message from one line; :class:`WireError` unless it is a JSON object."""
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"not a JSON message: {str(exc)[:200]}") from None
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message
