"""Collaboration modes: how the kept roles work together, and what that does to quality and cost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import comb


def majority_of(k: int) -> Callable[[float], float]:
    """P(a strict majority of k independent samples is right) when one is right with probability p."""

    def quality(p: float) -> float:
        need = k // 2 + 1
        return sum(comb(k, i) * p**i * (1 - p) ** (k - i) for i in range(need, k + 1))

    return quality


def _identity(p: float) -> float:
    return p


@dataclass(frozen=True)
class Mode:
    """A collaboration mode.

    ``keep_optional``: whether optional roles are candidates at all (``single`` runs only required roles).
    ``samples``: calls per kept role (vote-k samples each role k times, reflection answers then revises).
    ``transform``: how the mode changes one role's expected quality (a prior the learned policy replaces).
    """

    name: str
    description: str = ""
    keep_optional: bool = True
    samples: int = 1
    transform: Callable[[float], float] = _identity

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError(f"mode {self.name!r}: samples must be ≥ 1")


SINGLE = Mode("single", "only the required roles run, one call each", keep_optional=False)
FULL = Mode("full", "required roles plus the optional roles worth their cost, one call each")
VOTE_3 = Mode("vote-3", "each kept role is sampled 3 times and the majority answer wins", samples=3, transform=majority_of(3))
REFLECTION = Mode(
    "reflection",
    "each kept role answers, critiques and revises its answer (2 calls)",
    samples=2,
    transform=lambda p: p + 0.25 * p * (1.0 - p),
)

BUILTIN_MODES: tuple[Mode, ...] = (SINGLE, FULL, VOTE_3, REFLECTION)
