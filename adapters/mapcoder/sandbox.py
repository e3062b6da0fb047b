"""Run generated code against tests: the program runs isolated, the tests and their verdicts stay in the host.

The untrusted program is loaded in a fresh worker (by default isolated with Linux namespaces, a read-only root, a
seccomp filter and whole-run limits: see :mod:`._launch`); it only answers calls — a function name and arguments in,
a value or an exception type out (:mod:`._wire`). Each test (an ``assert`` line, or ``check(entry_point)`` after a
``setup`` that defines ``check``) is executed **here**, in the trusted process, with the program's top-level
functions bound to proxies; each call has its own timeout. So nothing the program prints, exits with, or defines
(``check``, a helper the test uses) can change a verdict, and the tests and ``setup`` never enter the sandbox.
Tests and ``setup`` are trusted code (the caller's or the dataset's); only ``code`` is hostile.
"""

from __future__ import annotations

import builtins
import logging
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from router_plugins.adapters.mapcoder._cgroups import cgroup_support
from router_plugins.adapters.mapcoder._launch import SetupFailed, Worker, WorkerGone, isolation_missing
from router_plugins.adapters.mapcoder._wire import OpaqueValue, WireError, decode, encode
from router_plugins.errors import ConfigError, SandboxUnavailableError

__all__ = ["ExecutionReport", "OpaqueValue", "ProgramError", "RunStatus", "SandboxMode", "TestOutcome",
           "isolation_missing", "run_tests"]

log = logging.getLogger("router_plugins")


class SandboxMode(str, Enum):
    """How a run is contained: ``isolated`` (namespaces, read-only root, seccomp) or ``process`` (a limited child
    process only — the weaker mode, never a security boundary, used only when asked for)."""

    ISOLATED = "isolated"
    PROCESS = "process"


class RunStatus(str, Enum):
    """How a run ended: ``ok`` (the program answered every call) or the limit or failure that stopped it."""

    OK = "ok"
    LOAD_ERROR = "load_error"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    OUTPUT_LIMIT = "output_limit"
    EXITED = "exited"
    PROTOCOL_ERROR = "protocol_error"


class ProgramError(Exception):
    """An exception the sandboxed program raised whose type is not a builtin exception (``type_name`` holds it)."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name


@dataclass(frozen=True)
class TestOutcome:
    """One test: its source, whether it passed, and the error it raised."""

    test: str
    passed: bool
    error: str | None = None


@dataclass(frozen=True)
class ExecutionReport:
    """What running a program against its tests gave; ``error`` is set when the run did not end normally.

    ``mode`` and ``limits`` say how the run was contained; ``stdout``/``stderr`` are the program's output (capped);
    ``setup_ms`` is the time the worker spent isolating itself before it loaded the program."""

    tests: tuple[TestOutcome, ...]
    error: str | None = None
    status: RunStatus = RunStatus.OK
    mode: SandboxMode = SandboxMode.ISOLATED
    limits: str = ""
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    setup_ms: float = 0.0

    @property
    def timed_out(self) -> bool:
        return self.status is RunStatus.TIMEOUT

    @property
    def passed(self) -> bool:
        """Every test passed (and there was at least one) and the run ended normally."""
        return self.error is None and bool(self.tests) and all(t.passed for t in self.tests)

    @property
    def n_passed(self) -> int:
        return sum(t.passed for t in self.tests)

    def feedback(self, max_failures: int = 3) -> str:
        """A short text for a debugging prompt: the load error, or the failing tests with their errors."""
        if not self.tests and self.error is not None:
            return f"The program failed before the tests ran: {self.error}"
        failed = [t for t in self.tests if not t.passed][:max_failures]
        if not failed:
            return "All tests passed." if self.error is None else f"The run failed: {self.error}"
        return "\n".join(f"Failed: {t.test}\n  -> {t.error or 'AssertionError'}" for t in failed)


class _Program:
    """The host's handle on the loaded program: one call at a time, each with its own deadline."""

    def __init__(self, worker: Worker, call_timeout_s: float, deadline: float) -> None:
        self.worker, self.call_timeout_s, self.deadline = worker, call_timeout_s, deadline
        self.gone: WorkerGone | None = None
        self.memory_error = False

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.gone is not None:
            raise ProgramError("ProgramStopped", f"the program is no longer running ({self.gone})")
        try:
            message = {"call": name, "args": encode(list(args)), "kwargs": encode(kwargs)}
        except RecursionError:
            raise TypeError(f"the arguments of {name}() are nested too deeply to send to the program") from None
        try:
            reply = self.worker.exchange(message, min(self.deadline, time.monotonic() + self.call_timeout_s))
            if "ok" in reply:
                return decode(reply["ok"])
        except WorkerGone as exc:
            self.gone = exc
            raise ProgramError("ProgramStopped", f"{exc} during {name}()") from None
        except WireError as exc:
            self.gone = WorkerGone("protocol_error", f"the program broke the call protocol: {exc}")
            raise ProgramError("ProgramStopped", str(self.gone)) from None
        type_name, text = str(reply.get("raise", "Exception")), str(reply.get("message", ""))[:500]
        self.memory_error |= type_name == "MemoryError"
        builtin = getattr(builtins, type_name, None)
        if isinstance(builtin, type) and issubclass(builtin, Exception) and type_name != "Exception":
            raise builtin(text)  # so a test may expect the program's ValueError as a ValueError
        raise ProgramError(type_name, text)


class _Function:
    """A top-level function of the sandboxed program, callable from the host's tests (arguments are copied)."""

    def __init__(self, program: _Program, name: str) -> None:
        self._program, self.__name__ = program, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._program.call(self.__name__, args, kwargs)

    def __repr__(self) -> str:
        return f"<sandboxed function {self.__name__}>"


def run_tests(code: str, tests: Sequence[str], *, setup: str = "", entry_point: str | None = None,
              timeout_s: float = 10.0, call_timeout_s: float | None = None, memory_mb: int = 512,
              max_processes: int = 32, disk_mb: int = 64, output_limit_bytes: int = 1 << 20,
              mode: SandboxMode | str = SandboxMode.ISOLATED) -> ExecutionReport:
    """Load ``code`` in a fresh sandbox, then run each of ``tests`` here against it; never raises for bad code.

    ``setup`` is trusted code run here first (HumanEval's ``check``); names it defines win over the program's,
    except ``entry_point``, which always means the program's function. ``timeout_s`` bounds the whole run's wall
    clock (and each process's CPU time), ``call_timeout_s`` each call; ``memory_mb`` and ``max_processes`` cap the
    run (see :func:`~router_plugins.adapters.mapcoder._cgroups.cgroup_support`), ``disk_mb`` its temp dir and
    ``output_limit_bytes`` each of stdout/stderr. Raises :class:`SandboxUnavailableError` when isolation is missing
    here, unless ``mode="process"`` is passed explicitly.
    """
    mode = _mode(mode)
    if not tests:
        raise ConfigError("run_tests needs at least one test")
    if not timeout_s > 0 or memory_mb < 64 or max_processes < 1 or disk_mb < 1 or output_limit_bytes < 1:
        raise ConfigError("sandbox limits must be timeout_s > 0, memory_mb >= 64, max_processes >= 1, disk_mb >= 1 "
                          f"and output_limit_bytes >= 1, got {timeout_s}, {memory_mb}, {max_processes}, {disk_mb}, "
                          f"{output_limit_bytes}")
    isolate = mode is SandboxMode.ISOLATED
    if isolate and (missing := isolation_missing()) is not None:
        raise SandboxUnavailableError(f"cannot isolate generated code: {missing}. Pass mode='process' to run it as a "
                                      "plain limited process instead (not a security boundary).")
    limits = _limits_note(isolate, memory_mb, max_processes)
    start = time.monotonic()
    deadline = start + timeout_s
    job = {"memory_mb": int(memory_mb), "cpu_s": timeout_s, "max_processes": int(max_processes),
           "disk_mb": int(disk_mb), "read_only": _python_dirs(), "sys_path": _site_dirs()}
    worker = Worker(job, isolate=isolate, memory_mb=memory_mb, max_processes=max_processes,
                    output_limit=output_limit_bytes)
    program = _Program(worker, call_timeout_s or timeout_s, deadline)
    outcomes: list[TestOutcome] = []
    error: str | None = None
    try:
        try:
            loaded = worker.load(code, deadline)
        except WorkerGone as exc:
            program.gone = exc
            loaded = {}
        except SetupFailed as exc:
            raise SandboxUnavailableError(f"the sandbox could not be set up here: {exc}. Pass mode='process' to run "
                                          "code as a plain limited process (not a security boundary).") from None
        if "load_error" in loaded:
            error = str(loaded["load_error"])[:500]
            program.memory_error |= loaded.get("exception") == "MemoryError"
        elif program.gone is None:
            names = [str(n) for n in loaded.get("loaded", []) if isinstance(n, str)]
            outcomes = _grade(program, names, tests, setup, entry_point)
    finally:
        returncode = worker.close(grace_s=0 if program.gone is not None and program.gone.status != "exited" else 0.5)
    status = _status(program, error, worker)
    if program.gone is not None and error is None:
        error = _gone_text(program.gone, returncode, timeout_s)
    if isolate and worker.cgroup is None and cgroup_support()[0] != "none":
        limits = _limits_note(isolate, memory_mb, max_processes, joined=False)
    out, err = (bytes(worker.output[i]).decode(errors="replace") for i in (1, 2))
    return ExecutionReport(tuple(outcomes), error=error, status=status, mode=mode, limits=limits,
                           seconds=time.monotonic() - start, stdout=out, stderr=err, setup_ms=worker.setup_ms)


def _grade(program: _Program, names: list[str], tests: Sequence[str], setup: str,
           entry_point: str | None) -> list[TestOutcome]:
    """Run each test here, with the program's functions as proxies; a test passes when it raises nothing."""
    namespace: dict[str, Any] = {"__name__": "__sandbox_tests__"}
    try:
        exec(compile(setup, "setup", "exec"), namespace)  # trusted (the caller's or the dataset's code)
    except Exception as exc:
        raise ConfigError(f"the tests' setup code fails on its own: {_brief(exc)}") from exc
    for name in names:
        namespace.setdefault(name, _Function(program, name))
    if entry_point:
        namespace[entry_point] = _Function(program, entry_point)
    outcomes = []
    for test in tests:
        try:
            exec(compile(test, "test", "exec"), namespace)
            outcomes.append(TestOutcome(test, program.gone is None))
        except Exception as exc:
            outcomes.append(TestOutcome(test, False, _brief(exc)))
    return outcomes


def _status(program: _Program, error: str | None, worker: Worker) -> RunStatus:
    gone = program.gone.status if program.gone is not None else None
    if gone == "timeout":
        return RunStatus.TIMEOUT
    if program.memory_error or worker.oom_killed:
        return RunStatus.MEMORY
    if gone is not None:
        return RunStatus(gone)
    return RunStatus.LOAD_ERROR if error is not None else RunStatus.OK


def _gone_text(gone: WorkerGone, returncode: int | None, timeout_s: float) -> str:
    if gone.status == "timeout":
        return f"timed out after {timeout_s:g} s"
    if gone.status == "exited" and returncode is not None:
        how = f"killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
        return f"the program stopped: {how}"
    return str(gone)


def _brief(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:500]


def _mode(mode: SandboxMode | str) -> SandboxMode:
    try:
        return SandboxMode(mode)
    except ValueError:
        raise ConfigError(f"sandbox mode must be one of {[m.value for m in SandboxMode]}, got {mode!r}") from None


def _limits_note(isolate: bool, memory_mb: int, max_processes: int, joined: bool = True) -> str:
    """How the run's limits were enforced, for the report (cgroup or per-process caps)."""
    if not isolate:
        return (f"process mode (not a security boundary): {memory_mb} MB per process, CPU time per process, "
                "children killed by process group only")
    version, _, note = cgroup_support()
    if not joined:
        return f"the run's cgroup could not be joined: {memory_mb} MB per process, RLIMIT_NPROC {max_processes}"
    if version == "none":
        log.info("router_plugins sandbox: %s", note)
        return f"{note} = {memory_mb * max_processes} MB at most; {max_processes} processes"
    return f"{note}: {memory_mb} MB, {max_processes} processes"


def _site_dirs() -> list[str]:
    """The host interpreter's site-packages, put on the worker's ``sys.path`` (it starts with ``-S``)."""
    import site

    return [d for d in site.getsitepackages() if d]


def _python_dirs() -> list[str]:
    """The Python install the worker needs, made visible read-only inside the sandbox."""
    import os
    import sys

    dirs = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    return sorted(os.path.realpath(d) for d in dirs if d and not d.startswith(("/usr/", "/bin", "/lib")))
