"""Run generated code against its tests in a separate, limited Python process (for code pipelines and judges).

Each call starts a fresh isolated interpreter (``python -I``) in an empty temporary folder with CPU time, memory,
file size and wall-clock limits, no inherited environment and the socket module disabled, executes the program,
then each test (an ``assert`` line or any statement) on its own, so a failing test names itself. Only a report
comes back: which tests passed, the first error of each failed one, and whether the program itself failed to load.
This limits accidents (endless loops, memory blow-ups, stray network calls); it is not a security boundary against
hostile code — run untrusted code in a container as well.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

from router_plugins.errors import ConfigError

__all__ = ["ExecutionReport", "TestOutcome", "run_tests"]

_MARKER = "__router_plugins_sandbox__"

#: The harness the child interpreter runs: limits, no network, program, then each test on its own.
_HARNESS = r'''
import io, json, resource, sys, traceback
job = json.loads(sys.stdin.read())
mem = job["memory_mb"] * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
cpu = max(1, int(job["cpu_s"]) + 1)
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
import socket
def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in the sandbox")
socket.socket = socket.create_connection = socket.getaddrinfo = _no_network
real_stdout = sys.stdout
sys.stdout = sys.stderr = io.StringIO()
def brief(exc):
    lines = traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip()[:500]
ns = {"__name__": "__main__"}
report = {"load_error": None, "results": []}
try:
    exec(compile(job["setup"] + "\n" + job["code"], "solution.py", "exec"), ns)
except BaseException as exc:
    report["load_error"] = brief(exc)
if report["load_error"] is None:
    for test in job["tests"]:
        try:
            exec(compile(test, "test", "exec"), ns)
            report["results"].append([test, True, None])
        except BaseException as exc:
            report["results"].append([test, False, brief(exc)])
real_stdout.write(job["marker"] + json.dumps(report) + "\n")
real_stdout.flush()
'''


@dataclass(frozen=True)
class TestOutcome:
    """One test: its source, whether it passed, and the error it raised."""

    test: str
    passed: bool
    error: str | None = None


@dataclass(frozen=True)
class ExecutionReport:
    """What running a program against its tests gave; ``error`` is set when the program never got to the tests."""

    tests: tuple[TestOutcome, ...]
    error: str | None = None
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Every test passed (and there was at least one)."""
        return self.error is None and bool(self.tests) and all(t.passed for t in self.tests)

    @property
    def n_passed(self) -> int:
        return sum(t.passed for t in self.tests)

    def feedback(self, max_failures: int = 3) -> str:
        """A short text for a debugging prompt: the load error, or the failing tests with their errors."""
        if self.error is not None:
            return f"The program failed before the tests ran: {self.error}"
        failed = [t for t in self.tests if not t.passed][:max_failures]
        if not failed:
            return "All tests passed."
        return "\n".join(f"Failed: {t.test}\n  -> {t.error or 'AssertionError'}" for t in failed)


def run_tests(code: str, tests: Sequence[str], *, setup: str = "", timeout_s: float = 10.0,
              memory_mb: int = 512) -> ExecutionReport:
    """Run ``setup`` + ``code`` in a fresh limited interpreter, then each of ``tests``; never raises for bad code.

    ``timeout_s`` bounds wall-clock and CPU time of the whole run; ``memory_mb`` its address space.
    """
    if not tests:
        raise ConfigError("run_tests needs at least one test")
    if not timeout_s > 0 or memory_mb < 64:
        raise ConfigError(f"sandbox limits must be timeout_s > 0 and memory_mb >= 64, got {timeout_s}, {memory_mb}")
    job = json.dumps({"code": code, "setup": setup, "tests": list(tests), "memory_mb": int(memory_mb),
                      "cpu_s": timeout_s, "marker": _MARKER})
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="router-plugins-sandbox-") as cwd:
        proc = subprocess.Popen([sys.executable, "-I", "-c", _HARNESS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=cwd, env=env, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(job, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return ExecutionReport((), error=f"timed out after {timeout_s:g} s", timed_out=True,
                                   seconds=time.perf_counter() - start)
        finally:
            _kill_group(proc)  # whatever the program left running in its session
    seconds = time.perf_counter() - start
    line = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith(_MARKER)), None)
    if line is None:
        why = _killed(proc.returncode) or (stderr.strip().splitlines() or [""])[-1]
        why = why or f"it exited with code {proc.returncode} before the tests finished"
        return ExecutionReport((), error=f"the program stopped the interpreter: {why}"[:500], seconds=seconds)
    report = json.loads(line[len(_MARKER):])
    outcomes = tuple(TestOutcome(t, bool(ok), err) for t, ok, err in report["results"])
    return ExecutionReport(outcomes, error=report["load_error"], seconds=seconds)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the child's whole session (it may have started processes of its own) and reap the child."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _killed(returncode: int) -> str | None:
    """Why the child died, when a limit killed it."""
    if returncode == -9 or returncode == -24:  # SIGKILL / SIGXCPU
        return "CPU time limit exceeded"
    if returncode < 0:
        return f"killed by signal {-returncode}"
    return None
