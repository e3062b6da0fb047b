"""Model-free checks of a worked numeric solution against its question: does it use the question's numbers, does
every operand of its calculations come from the question or an earlier result, is its final answer the last value it
computed. Pure Python over regular expressions and :mod:`router_plugins.judges`' arithmetic evaluator (``ast`` of
``+ - * /`` over plain numbers only); nothing in a response is executed. The trained judge
(:class:`router_plugins.scorer.response_judge.ResponseJudge`) uses them as features.
"""

from __future__ import annotations

import math
import re

from router_plugins.judges import _evaluate, _number, _text, extract_number, short_cache, worked_steps

__all__ = ["SOLUTION_CHECKS", "solution_checks"]

#: The names of :func:`solution_checks`' values, in order.
SOLUTION_CHECKS = ("question_numbers_unused", "unsupported_operands", "answer_is_last_result", "answer_in_question",
                   "answer_log_magnitude", "answer_negative", "step_count", "length_ratio", "algebra", "answer_marks",
                   "truncated", "question_numbers")

_MAX_CHARS = 20_000  # longer texts are cut: the checks read a solution, not a book (and stay linear in time)
_NUMBER = re.compile(r"(?<![\w.])-?\$?\d[\d,]{0,30}(?:\.\d{1,12})?%?")
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
          "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
          "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
          "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "half": 0.5, "twice": 2,
          "double": 2, "triple": 3, "thrice": 3, "dozen": 12, "quarter": 0.25}
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
# units and counts a solution may use without the question stating them (hours in a day, weeks in a year, percent …)
_CONSTANTS = frozenset({0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 10.0, 12.0, 24.0, 30.0, 52.0, 60.0, 100.0,
                        365.0, 1000.0})
_ALGEBRA = re.compile(r"\blet\s+[a-z]\b|\b[a-z]\s*=\s*\d|\b\d+\s*[a-z]\s*[-+=]", re.IGNORECASE)


def _numbers(text: str) -> list[float]:
    """Every plain number in ``text`` ('$1,200.50' → 1200.5; a percent sign is dropped)."""
    out = []
    for raw in _NUMBER.findall(text):
        value = _number(raw.rstrip("%"))
        if value is not None:
            out.append(float(value))
    return out


def _question_numbers(question: str) -> set[float]:
    """The numbers a question states, in digits or words ('twelve', 'half', 'a dozen')."""
    return set(_numbers(question)) | {float(_WORDS[w.lower()]) for w in _WORD.findall(question)}


def _known(value: float, known: set[float]) -> bool:
    return any(abs(value - k) <= 1e-9 * max(1.0, abs(k)) for k in known)


@short_cache(maxsize=1 << 14)
def solution_checks(question: str, response: str) -> tuple[float, ...]:
    """The checks of ``SOLUTION_CHECKS`` for one (question, response): shares, 0/1 flags and log counts, all finite."""
    question, text = question[:_MAX_CHARS], _text(response)[:_MAX_CHARS]
    given = _question_numbers(question)
    known = given | {v / 100 for v in given} | {v * 100 for v in given} | _CONSTANTS
    results: list[float] = []
    operands = unsupported = 0
    seen: set[tuple[float, str | None]] = set()
    for expression, claimed in worked_steps(text):
        value = _evaluate(expression)
        # '30 * 2 = <<30*2=60>>60' states one step twice (inline and annotated): count it once
        if value is None or (value, _number(claimed)) in seen:
            continue
        seen.add((value, _number(claimed)))
        for operand in _numbers(expression):
            operands += 1
            unsupported += not _known(operand, known)
        result = _number(claimed)
        if result is not None:
            results.append(float(result))
            known.add(float(result))
    answer_text = extract_number(text)
    answer = float(answer_text) if answer_text is not None else None
    stated = {v for v in given if v not in _CONSTANTS}
    used = set(_numbers(text))
    values = (
        sum(v not in used for v in stated) / max(1, len(stated)),
        unsupported / max(1, operands),
        float(answer is not None and bool(results) and abs(answer - results[-1]) < 1e-6),
        float(answer is not None and answer in given),
        math.log1p(min(abs(answer), 1e300)) if answer is not None and math.isfinite(answer) else 0.0,
        float(answer is not None and answer < 0),
        math.log1p(len(results)),
        math.log1p(len(text)) - math.log1p(len(question)),
        float(bool(_ALGEBRA.search(text))),
        float(min(text.count("####"), 5)),
        float(text.count("<<") > text.count(">>")),
        math.log1p(len(given)),
    )
    return tuple(v if math.isfinite(v) else 0.0 for v in values)
