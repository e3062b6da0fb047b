"""Checks a judge can make on an answer without a model: the final answer it gives, whether earlier answers agree
with it, and whether its arithmetic is provably wrong. Pure Python; the trained judge is
:class:`router_plugins.scorer.response_judge.ResponseJudge`.
"""

from __future__ import annotations

import ast
import functools
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = [
    "AnswerExtractor",
    "agreement_confidence",
    "arithmetic_errors",
    "checked_confidence",
    "extract_choice",
    "extract_final_answer",
    "extract_number",
    "has_marked_answer",
    "is_hedged",
]

AnswerExtractor = Callable[[str], "str | None"]

_CHOICE = re.compile(r"^\(?([A-E])(?:\)|\.|:|,|\s*\(|\s*$)")
_CHOICE_PHRASE = re.compile(r"answer(?: is|:)?\s*\(?([A-E])\)?\b", re.IGNORECASE)
# digit runs and operator chains are bounded: unbounded ones let a hostile '1,1,1,…' or '1+1+1+…' response make the
# equation search quadratic in its length (40 s for 32 kB); real solutions stay far inside the bounds
_NUMBER = r"-?\$?\d[\d,]{0,24}(?:\.\d{1,12})?"
_FINAL_NUMBER = re.compile(rf"(?:####|answer is|answer:)\s*\**\s*({_NUMBER})", re.IGNORECASE)
_ANY_NUMBER = re.compile(_NUMBER)
_ANNOTATION = re.compile(r"<<([^=<>]+)=([^<>]+)>>")
_EQUATION = re.compile(
    rf"((?:{_NUMBER}\s*[-+*/x×÷]\s*){{1,16}}{_NUMBER})\s*=\s*({_NUMBER})(?![\d.]*\s*[-+*/x×÷]\s*\d)"
)
_OPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


T = TypeVar("T")


def short_cache(maxsize: int, max_chars: int = 8192) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """``functools.lru_cache`` for functions of response texts that keeps only calls whose string arguments are short:
    a cache keyed on whole responses would hold up to ``maxsize`` of them, so hostile megabyte answers could pin
    gigabytes. Longer calls are computed each time."""

    def wrap(func: Callable[..., T]) -> Callable[..., T]:
        cached = functools.lru_cache(maxsize=maxsize)(func)

        @functools.wraps(func)
        def call(*args: Any) -> T:
            if any(isinstance(a, str) and len(a) > max_chars for a in args):
                return func(*args)
            return cached(*args)

        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return call

    return wrap


def _text(response: str) -> str:
    """Unwrap responses recorded as a Python list literal of strings (RouterBench's format)."""
    stripped = response.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            parsed = ast.literal_eval(stripped)
        except (ValueError, SyntaxError):
            return response
        if isinstance(parsed, list) and parsed and isinstance(parsed[0], str):
            return parsed[0]
    return response


def extract_choice(response: str) -> str | None:
    """The option letter (A–E) a multiple-choice answer gives: 'answer is (C)' anywhere, or a leading 'C', 'C)',
    '(C)', 'C.' or 'C:' (not 'A chart …'); None when there is none."""
    text = _text(response)
    m = _CHOICE_PHRASE.search(text) or _CHOICE.search(text.strip())
    return m.group(1).upper() if m else None


def _number(raw: str) -> str | None:
    cleaned = raw.replace("$", "").replace(",", "").rstrip(".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def extract_number(response: str) -> str | None:
    """The final numeric answer of a worked solution ('#### 18', 'the answer is 18', else the last number), normalised
    so that '$1,000.00' and '1000' compare equal; None when there is no number."""
    text = _text(response)
    marked = _FINAL_NUMBER.findall(text)
    if marked:
        return _number(marked[-1])
    numbers = _ANY_NUMBER.findall(text)
    return _number(numbers[-1]) if numbers else None


def has_marked_answer(response: str) -> bool:
    """Whether the response states its answer explicitly ('#### 18', 'the answer is …', a leading option letter);
    a worked solution without one was often cut off or never finished."""
    text = _text(response)
    return bool(_FINAL_NUMBER.search(text) or _CHOICE_PHRASE.search(text) or _CHOICE.search(text.strip()))


_HEDGE = re.compile(r"\b(however|assum\w*|can't|cannot|approximately|round(?:ed|ing)?|not sure|unclear)\b", re.I)


def is_hedged(response: str) -> bool:
    """Whether the response hedges (assumes, rounds, says it cannot …): such answers are right less often."""
    return bool(_HEDGE.search(_text(response)))


@short_cache(maxsize=1 << 16)
def extract_final_answer(response: str) -> str | None:
    """A choice letter if the response looks like a multiple-choice answer, else its final number."""
    return extract_choice(response) or extract_number(response)


def _evaluate(expression: str) -> float | None:
    """Value of a + - * / expression over plain numbers; None when it is anything else or divides by zero."""
    source = expression.replace("$", "").replace(",", "").replace("×", "*").replace("x", "*").replace("÷", "/")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return None

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError("not arithmetic")

    try:
        return walk(tree.body)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


def _wrong(claimed: str, actual: float) -> bool:
    value = _evaluate(claimed)
    if value is None:
        return False
    tolerance = max(0.011, 1e-3 * abs(actual))  # answers rounded to cents are not errors
    return abs(value - actual) > tolerance


def worked_steps(text: str) -> list[tuple[str, str]]:
    """(expression, claimed result) of each worked calculation in a text: GSM8K annotations ('<<3*4=12>>') first,
    then inline equations ('3 * 4 = 12') outside them."""
    return [*_ANNOTATION.findall(text), *_EQUATION.findall(_ANNOTATION.sub(" ", text))]


@short_cache(maxsize=1 << 16)
def arithmetic_errors(response: str) -> tuple[int, int]:
    """(checked, wrong): how many worked calculations ('3 * 4 = 12', '<<3*4=12>>') the response contains, and how
    many of them are provably wrong. A wrong step makes a wrong final answer likely."""
    checked = wrong = 0
    for expression, claimed in worked_steps(_text(response)):
        actual = _evaluate(expression)
        if actual is None:
            continue
        checked += 1
        wrong += _wrong(claimed, actual)
    return checked, wrong


def agreement_confidence(answer: str | None, earlier: Sequence[str | None]) -> float:
    """Share of the earlier answers that equal this one (0 when there are none or it has no answer): the
    self-consistency signal of agreement cascades ('keep when two cheap models agree')."""
    if answer is None or not earlier:
        return 0.0
    return sum(a == answer for a in earlier) / len(earlier)


def checked_confidence(response: str, earlier: Sequence[str]) -> float:
    """The built-in judge: 0 for a blank answer or one with a wrong calculation; 0.5 (passes the checks, nothing to
    compare with) for the first answer; after that, the share of the ``earlier`` answers whose final answer equals
    this one's (0 when none can be read). So ``a (≥0.5) → b`` keeps a's answer unless a check fails, and
    ``a (≥1) → b (≥1) → c`` keeps an answer only when two cheap models agree."""
    if not response.strip() or arithmetic_errors(response)[1]:
        return 0.0
    if not earlier:
        return 0.5
    return agreement_confidence(extract_final_answer(response), [extract_final_answer(r) for r in earlier])
