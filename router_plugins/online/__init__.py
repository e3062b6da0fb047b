"""Online learning from outcome feedback: per (task, model) quality statistics that adapt routing without retraining.

``OnlineFeedback`` is a plugin. Its ``record_outcome`` takes the outcomes an application reports
(``router.record(plan, outcome)``), keeps those whose quality signal passes a gate (default: a score or success flag
and no error), and adds each model that ran to the statistics of the plan's task and of all tasks ("*"). Its
``score_models`` / ``score_batch`` wrap whatever scorer answers (trained checkpoint or card priors) and shrink its
prediction towards what was observed:

    all = (k·scorer + Σq_all) / (k + n_all)          task = (k·all + Σq_task) / (k + n_task)

with ``k = prior_strength`` pseudo-observations, so a handful of outcomes nudges the scores and many outcomes
dominate them. ``exploration`` adds a UCB bonus (``c·sqrt(ln(1 + N) / (1 + n))``) so models that were rarely chosen
get tried (bandit feedback only reveals the chosen model's quality). ``decay`` < 1 fades old evidence on each update
of a (task, model) cell, like pheromone evaporation, so routing follows models whose quality drifts.

Stores, chosen by URL: in memory (default), SQLite in WAL mode (a path or ``sqlite:///…``; processes of one machine),
PostgreSQL (``postgresql://…``) and Redis (``redis://…``) for many workers, or any object with ``add`` / ``read``.
Writes are acknowledged when ``record`` returns: queued for a background writer that commits in batches (async,
default; flushed on ``close()``, ``with`` exit and interpreter exit), or committed (``durable=True``).
"""

from router_plugins.online._open import SCHEMES, open_store
from router_plugins.online._plugin import OnlineFeedback, passes_gate
from router_plugins.online._sqlite import SQLiteOutcomeStore
from router_plugins.online._store import ALL_TASKS, MemoryOutcomeStore, OutcomeStore, Stats, StoreError, aggregate

__all__ = ["ALL_TASKS", "SCHEMES", "MemoryOutcomeStore", "OnlineFeedback", "OutcomeStore", "PostgresOutcomeStore",
           "RedisOutcomeStore", "SQLiteOutcomeStore", "Stats", "StoreError", "aggregate", "open_store", "passes_gate"]


def __getattr__(name: str) -> object:
    # the server stores import their client libraries only when asked for (extra `stores`)
    if name == "PostgresOutcomeStore":
        from router_plugins.online._postgres import PostgresOutcomeStore

        return PostgresOutcomeStore
    if name == "RedisOutcomeStore":
        from router_plugins.online._redis import RedisOutcomeStore

        return RedisOutcomeStore
    raise AttributeError(f"module 'router_plugins.online' has no attribute {name!r}")
