"""Checks of a worked solution against its question: they read the numbers right and survive hostile responses."""

from __future__ import annotations

import math
import time

import pytest

from router_plugins.solution_checks import SOLUTION_CHECKS, solution_checks

QUESTION = "Tom has thirteen apples and buys 45 more at $2 each. How much does he spend, and how many apples has he?"


def checks(question: str, response: str) -> dict[str, float]:
    return dict(zip(SOLUTION_CHECKS, solution_checks(question, response)))


def test_a_sound_solution_uses_the_question_and_ends_on_its_last_result() -> None:
    got = checks(QUESTION, "He spends 45 * 2 = <<45*2=90>>90 dollars and has 13 + 45 = <<13+45=58>>58 apples.\n#### 58")
    assert got["question_numbers_unused"] == 0.0  # 13 (in words) and 45 both appear
    assert got["unsupported_operands"] == 0.0
    assert got["answer_is_last_result"] == 1.0 and got["answer_in_question"] == 0.0
    assert got["step_count"] == pytest.approx(math.log1p(2)) and got["answer_marks"] == 1.0
    assert got["truncated"] == 0.0 and got["algebra"] == 0.0


def test_an_unsound_solution_is_flagged() -> None:
    got = checks(QUESTION, "Let x be the apples. He buys 17 * 3 = <<17*3=51>>51, so x = 51 - 9 = <<51-9=42>>42.\n#### 40")
    assert got["question_numbers_unused"] == 1.0  # neither 13 nor 45 is used (2 counts as a unit-like constant)
    assert got["unsupported_operands"] == 0.5  # of 17, 3, 51, 9: 3 is a constant, 51 a result, 17 and 9 from nowhere
    assert got["answer_is_last_result"] == 0.0
    assert got["algebra"] == 1.0
    assert checks(QUESTION, "He has 13 + 45 = <<13+4")["truncated"] == 1.0


def test_an_answer_that_repeats_a_given_number_is_marked() -> None:
    assert checks(QUESTION, "#### 45")["answer_in_question"] == 1.0


@pytest.mark.parametrize("response", [
    "",
    "9" * 5000 + " + 1 = 2",  # a number beyond float range and int-parsing limits
    "1,1," * 20_000 + "= 3",  # a long comma run (quadratic regex backtracking before the bounds)
    "<<" * 30_000,  # unbalanced annotations
    "#### -" + "9" * 400,  # an answer that overflows to -inf
    "1/0 = 5 and <<4/0=1>> ####" + "\x00\ud800" * 10,  # division by zero, NUL and a lone surrogate
    "__import__('os').system('echo hi') = 4\n#### 4",  # code is read as text, never run
])
def test_hostile_responses_give_finite_checks_quickly(response: str) -> None:
    start = time.perf_counter()
    values = solution_checks(QUESTION * 50, response)
    assert len(values) == len(SOLUTION_CHECKS) and all(math.isfinite(v) for v in values)
    assert time.perf_counter() - start < 5.0  # a generous guard against super-linear regexes, not a benchmark


@pytest.mark.parametrize("response", ["1,1," * 8000 + "= 3", "1+" * 16000 + "1", "1 + " * 8000 + "= 5"])
def test_the_equation_search_stays_linear_on_hostile_runs(response: str) -> None:
    from router_plugins.judges import arithmetic_errors

    start = time.perf_counter()
    assert arithmetic_errors(response) == (0, 0)
    assert time.perf_counter() - start < 5.0  # was 40 s for 32 kB before the digit runs and chains were bounded


def test_code_checks_read_a_program_without_running_it() -> None:
    from router_plugins.code_checks import CODE_CHECKS, code_checks

    good = dict(zip(CODE_CHECKS, code_checks("Here:\n```python\ndef add(a, b):\n    return a + b\n```")))
    assert (good["has_code"], good["code_parses"], good["returns"], good["prints_only"]) == (1.0, 1.0, 1.0, 0.0)
    broken = dict(zip(CODE_CHECKS, code_checks("```python\ndef add(a, b)\n    print(a + b\n```")))
    assert (broken["has_code"], broken["code_parses"]) == (1.0, 0.0)
    assert code_checks("The answer is B.") == (0.0,) * len(CODE_CHECKS)


@pytest.mark.parametrize("program", [
    "import os\nos.system('touch /tmp/router_plugins_pwned')\ndef f():\n    return open('/etc/passwd').read()",
    "def f():\n    return " + "(" * 5000 + "1" + ")" * 5000,  # nesting beyond the parser's limit
    "def f():\n    return " + "[" * 100_000,
    "def f():\n    return " + "1" * 50_000,  # an integer literal beyond int-parsing limits
    "def f():\n    x = 1\0\n",  # a NUL byte
    "def f():\n" + "    x = 1\n" * 100_000,  # beyond the size cap
])
def test_hostile_programs_are_parsed_never_run(program: str) -> None:
    import os

    from router_plugins.code_checks import CODE_CHECKS, code_checks

    start = time.perf_counter()
    values = code_checks(f"```python\n{program}\n```")
    assert len(values) == len(CODE_CHECKS) and all(math.isfinite(v) for v in values)
    assert not os.path.exists("/tmp/router_plugins_pwned")
    assert time.perf_counter() - start < 5.0
