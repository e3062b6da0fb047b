"""Model-free answer checks used by escalation judges."""

from __future__ import annotations

import pytest

from router_plugins.judges import (
    agreement_confidence,
    arithmetic_errors,
    extract_choice,
    extract_final_answer,
    extract_number,
)


@pytest.mark.parametrize(
    ("response", "letter"),
    [
        ("B", "B"),
        ("['C) because the rest are wrong']", "C"),
        ("Looking at the options carefully, the answer is (D).", "D"),
        ("I think it is a tricky question", None),
        ("A chart would show it", None),
        ("A robe takes 2 bolts", None),
        ("(E) is right", "E"),
    ],
)
def test_extract_choice(response: str, letter: str | None) -> None:
    assert extract_choice(response) == letter


@pytest.mark.parametrize(
    ("response", "number"),
    [
        ("She sells 9 * $2 = $<<9*2=18>>18.\n#### 18", "18"),
        ("So the total is $1,000.00", "1000"),
        ("The answer is 2.5 bolts, about 3 in all", "2.5"),
        ("no digits here", None),
    ],
)
def test_extract_number(response: str, number: str | None) -> None:
    assert extract_number(response) == number


def test_final_answer_prefers_a_choice_letter() -> None:
    assert extract_final_answer("A") == "A"
    assert extract_final_answer("it costs 12 dollars") == "12"


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("16 - 3 = 13 eggs, then 13 - 4 = 9, and 9 * 2 = 18", (3, 0)),
        ("80,000 + 50,000 = $130,000 and <<80000+50000=130000>>", (2, 0)),
        ("3 * 4 = 13", (1, 1)),
        ("<<5/2=2.5>> and <<7*3=20>>", (2, 1)),
        ("10 / 3 = 3.33 (rounded)", (1, 0)),
        ("2/2 * 1/2 = 1/2 bolt", (0, 0)),  # the claimed value is a fraction, not a number: not checked
        ("1 / 0 = 5", (0, 0)),
        ("no calculations", (0, 0)),
    ],
)
def test_arithmetic_errors(response: str, expected: tuple[int, int]) -> None:
    assert arithmetic_errors(response) == expected


def test_agreement_confidence() -> None:
    assert agreement_confidence("A", []) == 0.0
    assert agreement_confidence(None, ["A"]) == 0.0
    assert agreement_confidence("A", ["A", "B"]) == 0.5
    assert agreement_confidence("A", ["A", "A"]) == 1.0


def test_response_caches_keep_no_huge_responses() -> None:
    # the checks are memoised for repeated answers, but a hostile megabyte answer must not be pinned in memory
    from router_plugins import code_checks, judges, solution_checks

    huge = "3 * 4 = 12. " * 100_000
    for check, args in ((judges.extract_final_answer, (huge,)), (judges.arithmetic_errors, (huge,)),
                        (code_checks.code_checks, (huge,)), (solution_checks.solution_checks, ("q?", huge))):
        check.cache_clear()
        assert check(*args) == check(*args)  # computed each time, same answer
        assert check.cache_info().currsize == 0
        check(*args[:-1], "3 * 4 = 12, so the answer is 12")
        assert check.cache_info().currsize == 1
