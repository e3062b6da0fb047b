"""One exception hierarchy: every error says what was wrong and what to do about it."""

from __future__ import annotations


class RouterError(Exception):
    """Base class of every error router-plugins raises on purpose."""


class ConfigError(RouterError, ValueError):
    """A model card, pool file or router setting is malformed (the message names the field)."""


class EmptyPoolError(ConfigError):
    """A pool with no model cards, or a role left with no candidate model."""


class UnknownModelError(ConfigError, KeyError):
    """A model name that is not in the pool; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0]) if self.args else ""


class QueryError(RouterError, ValueError):
    """An empty, non-text or over-long query."""


class BudgetError(RouterError):
    """Even the cheapest feasible plan exceeds the per-task budget or latency bound."""


class ScorerError(RouterError):
    """The scorer failed or returned unusable predictions (wrong shape, NaN, out of range)."""


class PlanningError(RouterError):
    """A planning hook returned something the planner cannot use."""


class CheckpointError(RouterError):
    """A checkpoint is missing, truncated, tampered with or does not match the pool."""


class DataError(RouterError, ValueError):
    """An outcome data file or folder cannot be read as per-query × per-model outcomes."""


class QueryRejectedError(QueryError):
    """A guard plugin refused the query (off-domain, unsafe, private …); the message says which and why."""


class ModelBuildError(RouterError):
    """The ``make_chat_model`` hook could not build a client for a planned model (with fail-open off); the message
    names the model, its provider and the cause."""


class SandboxUnavailableError(RouterError):
    """Generated code cannot be isolated here (no user namespaces, no seccomp, not Linux); the message says what is
    missing and that ``mode="process"`` runs it without isolation (not a security boundary)."""
