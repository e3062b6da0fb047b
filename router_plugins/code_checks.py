"""Model-free checks of a program an answer contains (MBPP-style "write a function" tasks): is there a code block, does
it parse, does it define a function that returns something, does it read input or only print. The code is parsed
with :func:`ast.parse` only — never compiled to bytecode, imported or run — and the text is cut to a bounded size first.
The trained judge (:class:`router_plugins.scorer.response_judge.ResponseJudge`) uses them as features.
"""

from __future__ import annotations

import ast
import math
import re

from router_plugins.judges import _text, short_cache

__all__ = ["CODE_CHECKS", "code_checks", "extract_code"]

#: The names of :func:`code_checks`' values, in order.
CODE_CHECKS = ("has_code", "code_parses", "function_count", "returns", "prints_only", "reads_input", "has_asserts",
               "code_lines")

_MAX_CHARS = 20_000  # a solution, not a book: longer programs are cut (and then most likely do not parse)
_FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_DEF = re.compile(r"^\s*def \w+\s*\(", re.MULTILINE)


def extract_code(response: str) -> str | None:
    """The first fenced code block of a response, else the response itself when it starts like Python code."""
    text = _text(response)[:_MAX_CHARS]
    block = _FENCE.search(text)
    if block:
        return block.group(1)
    return text if _DEF.search(text) else None


def _parse(code: str) -> ast.Module | None:
    """The syntax tree, or None when the text is not Python (or too deeply nested for the parser to read)."""
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


@short_cache(maxsize=1 << 12)
def code_checks(response: str) -> tuple[float, ...]:
    """The checks of ``CODE_CHECKS`` for one response: 0/1 flags and log counts (all 0 when it holds no code)."""
    code = extract_code(response)
    if code is None:
        return (0.0,) * len(CODE_CHECKS)
    tree = _parse(code)
    lines = math.log1p(code.count("\n") + 1)
    if tree is None:
        return (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, lines)
    nodes = list(ast.walk(tree))
    functions = [n for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    calls = {n.func.id for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    returns = any(isinstance(n, ast.Return) and n.value is not None for n in nodes)
    return (1.0, 1.0, math.log1p(len(functions)), float(returns), float("print" in calls and not returns),
            float("input" in calls), float(any(isinstance(n, ast.Assert) for n in nodes)), lines)
