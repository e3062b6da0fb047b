"""Where tests find ../shared/data, and a skip when it is absent (CI has it; a bare clone may not)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared(folder: str) -> Path:
    """A shared/data folder, or skip the test when the shared data is not available."""
    path = DATA / folder
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} not available")
    return path
