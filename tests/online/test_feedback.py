"""Online learning: recorded outcomes shift routing per task, persist in SQLite across processes, fail open."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from router_plugins import ConfigError, ModelCard, Router
from router_plugins.online import MemoryOutcomeStore, OnlineFeedback, SQLiteOutcomeStore
from router_plugins.outcome import Outcome, RoleOutcome
from router_plugins.query import Query


def cards() -> list[ModelCard]:
    return [ModelCard(name="cheap", quality=0.6, input_price=0.1, output_price=0.1),
            ModelCard(name="pricey", quality=0.6, input_price=1.0, output_price=1.0)]


def router(feedback: OnlineFeedback, lam: float = 10.0) -> Router:
    return Router(cards(), lam=lam, plugins=[feedback], load_entrypoints=False)


def feed(r: Router, task: str | None, model: str, quality: float, n: int) -> None:
    for _ in range(n):
        plan = r.plan(Query("a question", task=task))
        r.record(plan, Outcome(roles=(RoleOutcome("default", model),), score=quality))


def chosen(r: Router, task: str | None) -> str | None:
    return r.plan(Query("a question", task=task)).model_for("default")


def test_outcomes_move_the_choice_for_their_task_and_less_for_others() -> None:
    online = OnlineFeedback(background=False)
    r = router(online)
    assert chosen(r, "math") == "cheap"  # equal priors: the cheaper model
    feed(r, "math", "cheap", 0.0, 30)
    feed(r, "math", "pricey", 1.0, 30)
    assert chosen(r, "math") == "pricey"
    scores = online.adjust("math", ["cheap", "pricey"], [0.6, 0.6])
    assert scores[0] < 0.2 and scores[1] > 0.9
    other = online.adjust("poetry", ["cheap", "pricey"], [0.6, 0.6])  # only the all-task statistics apply
    assert scores[0] < other[0] < 0.6 < other[1] < scores[1]
    assert r.plan(Query("a question", task="math")).metadata["task"] == "math"


def test_the_gate_drops_outcomes_without_a_clean_quality_signal() -> None:
    online = OnlineFeedback(background=False)
    r = router(online)
    plan = r.plan(Query("q", task="math"))
    for outcome in (Outcome(), Outcome(score=1.0, error="timeout"), Outcome(score=7.0),
                    Outcome(roles=(RoleOutcome("default", "cheap", error="500"),), score=1.0)):
        r.record(plan, outcome)
    assert online.store.read(["*", "math"]) == {}
    r.record(plan, Outcome(success=True))  # no role outcomes: the plan's models are credited
    assert online.store.read(["math"]) == {("math", "cheap"): (1.0, 1.0)}


def test_decay_fades_old_evidence() -> None:
    store = MemoryOutcomeStore(decay=0.5)
    store.add([("t", "m", 1.0)])
    store.add([("t", "m", 0.0)])
    (w, t), = store.read(["t"]).values()
    assert (w, t) == (1.5, 0.5)  # mean 1/3: the newer 0 weighs twice the older 1


def test_exploration_bonus_favours_rarely_tried_models() -> None:
    online = OnlineFeedback(background=False, exploration=0.5)
    online.store.add([("*", "cheap", 0.6)] * 50)
    cheap, pricey = online.adjust(None, ["cheap", "pricey"], [0.6, 0.6])
    assert pricey > cheap


def test_background_writes_are_flushed_and_failures_logged(caplog: pytest.LogCaptureFixture) -> None:
    online = OnlineFeedback()
    r = router(online)
    feed(r, "math", "pricey", 1.0, 5)
    online.flush()
    assert online.store.read(["math"])[("math", "pricey")] == (5.0, 5.0)

    class Broken(MemoryOutcomeStore):
        def add(self, rows: Any) -> None:
            raise OSError("disk full")

    broken = OnlineFeedback(Broken())
    feed(router(broken), "math", "pricey", 1.0, 1)
    with caplog.at_level(logging.ERROR, logger="router_plugins"):
        broken.flush()
    assert "cannot write to the outcome store" in caplog.text and "disk full" in caplog.text
    assert broken.counters["failed"] == 1 and broken.counters["stored"] == 0


def test_a_failing_store_read_is_one_error_and_a_counter_not_a_fallback_per_plan(
        caplog: pytest.LogCaptureFixture) -> None:
    class Unreadable(MemoryOutcomeStore):
        def read(self, keys: Any) -> Any:
            raise OSError("locked")

    online = OnlineFeedback(Unreadable(), background=False, refresh_s=0.0)
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        plans = [router(online).plan(Query("q", task="math")) for _ in range(5)]
    assert not any(p.fallback for p in plans)  # the scorer alone decides while the store is unreadable
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "cannot read" in errors[0].getMessage() and "locked" in errors[0].getMessage()
    assert online.counters["read_errors"] == 10  # two keys (task, all) per plan


def test_plan_batch_goes_through_the_same_adjustment() -> None:
    online = OnlineFeedback(background=False)
    r = router(online)
    feed(r, "math", "pricey", 1.0, 30)
    qs = [Query("a", task="math"), Query("b", task="poetry")]
    assert [p.model_for("default") for p in r.plan_batch(qs)] == [chosen(r, "math"), chosen(r, "poetry")]


WRITER = textwrap.dedent("""
    import sys
    from router_plugins.online import SQLiteOutcomeStore
    store = SQLiteOutcomeStore(sys.argv[1])
    for _ in range(100):
        store.add([("math", "pricey", 1.0)])
""")


def test_sqlite_store_is_shared_by_processes(tmp_path: Path) -> None:
    path = tmp_path / "stats" / "outcomes.db"
    SQLiteOutcomeStore(path)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path)]) for _ in range(2)]
    store = SQLiteOutcomeStore(path)
    for _ in range(100):
        store.add([("math", "pricey", 0.0)])
    assert all(p.wait(timeout=120) == 0 for p in procs)
    w, t = store.read(["math"])[("math", "pricey")]
    assert (w, t) == (300.0, 200.0)
    again = OnlineFeedback(path, background=False)  # a new process would see the same statistics
    assert again.adjust("math", ["pricey"], [0.5])[0] > 0.6


def test_bad_configuration_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="prior_strength"):
        OnlineFeedback(prior_strength=0)
    with pytest.raises(ConfigError, match="exploration"):
        OnlineFeedback(exploration=-1)
    with pytest.raises(ConfigError, match="decay"):
        MemoryOutcomeStore(decay=0)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(ConfigError, match="not a usable outcome store"):
        SQLiteOutcomeStore(junk)
