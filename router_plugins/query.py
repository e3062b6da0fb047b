"""What is routed (a Query) and the parts of an application a plan assigns models to (Roles)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from router_plugins.errors import ConfigError, QueryError


def task_lineage(task: str | None) -> Iterator[str]:
    """The task family and each of its parents, nearest first (``mmlu/astronomy``, then ``mmlu``): the order in which
    per-task tables back off before their default."""
    while task:
        yield task
        task = task.rpartition("/")[0]


#: A query longer than this is refused before any scoring (a typed QueryError, never a silent truncation).
MAX_QUERY_CHARS = 200_000
#: Longest task label accepted: a label names a task family, it is not a document.
MAX_TASK_CHARS = 1_000


@dataclass(frozen=True)
class Query:
    """The task text plus optional metadata used by plugins (task family, user, tenant, per-task budget)."""

    text: str
    task: str | None = None
    user: str | None = None
    tenant: str | None = None
    budget_usd: float | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise QueryError(f"query text must be a string, got {type(self.text).__name__}")
        if not self.text.strip():
            raise QueryError("the query is empty: pass the task text to route")
        try:
            self.text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise QueryError(f"the query is not valid Unicode text ({exc.reason} at character {exc.start})") from None
        if len(self.text) > MAX_QUERY_CHARS:
            raise QueryError(
                f"the query has {len(self.text):,} characters, over the limit of {MAX_QUERY_CHARS:,}: "
                "summarise or split it before routing"
            )
        if self.task is not None and not isinstance(self.task, str):
            raise QueryError(f"query task must be a string or None, got {type(self.task).__name__}")
        if self.task is not None and len(self.task) > MAX_TASK_CHARS:
            raise QueryError(f"the query's task label has {len(self.task):,} characters, over the limit of "
                             f"{MAX_TASK_CHARS:,}: pass the task's name, not its text")
        if self.budget_usd is not None and not self.budget_usd > 0:
            raise QueryError(f"query budget_usd must be > 0, got {self.budget_usd}")
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @classmethod
    def coerce(cls, query: Query | str) -> Query:
        """Accept a Query or plain text."""
        return query if isinstance(query, Query) else cls(text=query)


@dataclass(frozen=True)
class Role:
    """A part of the application that needs a model: an agent, a graph node, a pipeline stage.

    ``optional`` roles may be pruned by the planner; required ones never are. ``models`` restricts the
    candidates (None = the whole pool). ``lift`` is the prior fraction of the remaining error an optional
    role removes when it runs at full quality; ``prompt_tokens`` / ``output_tokens`` refine cost estimates.
    ``group`` names roles whose answers are combined by majority vote (solvers, voters): the planner predicts the
    vote's quality, so a weak or repeated voter can lower it rather than add to it.
    """

    name: str
    optional: bool = False
    models: tuple[str, ...] | None = None
    description: str = ""
    lift: float = 0.2
    prompt_tokens: int = 0
    output_tokens: int | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("a role needs a non-empty name")
        if self.models is not None:
            if isinstance(self.models, str):
                object.__setattr__(self, "models", (self.models,))
            else:
                object.__setattr__(self, "models", tuple(self.models))
            if not self.models:
                raise ConfigError(f"role {self.name!r} has an empty 'models' list: omit it to allow the whole pool")
        if not isinstance(self.lift, (int, float)) or not 0.0 <= self.lift <= 1.0:
            raise ConfigError(f"role {self.name!r}: lift must be in [0, 1], got {self.lift!r}")
        if isinstance(self.prompt_tokens, bool) or not isinstance(self.prompt_tokens, int) or self.prompt_tokens < 0:
            raise ConfigError(f"role {self.name!r}: prompt_tokens must be an integer ≥ 0, got {self.prompt_tokens!r}")
        if self.output_tokens is not None and (
            isinstance(self.output_tokens, bool) or not isinstance(self.output_tokens, int) or self.output_tokens < 1
        ):
            raise ConfigError(f"role {self.name!r}: output_tokens must be an integer ≥ 1, got {self.output_tokens!r}")

    @classmethod
    def parse(cls, spec: str) -> Role:
        """Parse the CLI shorthand ``name`` (required) or ``name?`` (optional)."""
        spec = spec.strip()
        return cls(spec[:-1], optional=True) if spec.endswith("?") else cls(spec)


#: The role used when a plan is asked for without roles: one model answers the query.
DEFAULT_ROLE = Role("default")
