"""JSON for people and files: non-ASCII kept as is (model and task names), floats rounded to 6 significant digits."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps"]


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return value if not math.isfinite(value) or value == 0 else float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` with ``ensure_ascii=False`` and floats rounded to 6 significant digits (NaN becomes null)."""
    return json.dumps(_null_nan(_rounded(obj)), ensure_ascii=False, **kwargs)


def _null_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _null_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_null_nan(v) for v in value]
    return value
