"""JSON for people and files: plain values only (numpy scalars unwrapped, NaN/inf as null), non-ASCII kept as is
(model and task names), floats rounded to 6 significant digits when written."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "plain"]


def plain(value: Any, digits: int | None = None) -> Any:
    """``value`` with numpy scalars unwrapped, NaN / inf as None, tuples as lists, and floats rounded to ``digits``
    significant digits when given."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}") if digits and value else value
    if isinstance(value, dict):
        return {k: plain(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, digits) for v in value]
    return value


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`plain` values with ``ensure_ascii=False`` and floats rounded to 6 significant digits."""
    return json.dumps(plain(obj, 6), ensure_ascii=False, **kwargs)
