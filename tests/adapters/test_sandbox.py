"""The code sandbox: tests run here against a program loaded in a fresh sandbox; bad programs give typed reports."""

from __future__ import annotations

import math
import subprocess
from typing import Any

import pytest

from router_plugins.adapters.mapcoder import sandbox
from router_plugins.adapters.mapcoder.sandbox import OpaqueValue, RunStatus, SandboxMode
from router_plugins.errors import ConfigError, SandboxUnavailableError

ADD = "def add(a, b):\n    return a + b\n"
#: Where isolation is unavailable (no user namespaces, e.g. inside some containers) the grading tests still run, in
#: the weaker mode; the attack tests (test_sandbox_attacks.py) are skipped there.
MODE = SandboxMode.ISOLATED if sandbox.isolation_missing() is None else SandboxMode.PROCESS


def run_tests(code: str, tests: list[str], **kw: Any) -> sandbox.ExecutionReport:
    """``run_tests`` in this machine's best mode unless a test names one."""
    return sandbox.run_tests(code, tests, **{"mode": MODE, **kw})


def test_each_test_passes_or_fails_on_its_own() -> None:
    report = run_tests(ADD, ["assert add(1, 2) == 3", "assert add(1, 1) == 3", "assert sub(1, 1) == 0"])
    assert [t.passed for t in report.tests] == [True, False, False]
    assert report.tests[1].error == "AssertionError"
    assert "NameError" in (report.tests[2].error or "")
    assert not report.passed and report.n_passed == 1 and report.status is RunStatus.OK
    assert report.mode is MODE
    assert "Failed: assert add(1, 1) == 3" in report.feedback()
    assert run_tests(ADD, ["assert add(2, 2) == 4"]).passed


def test_setup_runs_in_the_host_and_prints_do_not_disturb_the_report() -> None:
    setup = "def check(f):\n    assert f(2, 3) == 5\n"
    report = run_tests("print('noise ' * 100)\n" + ADD, ["check(add)"], setup=setup)
    assert report.passed and report.stdout.startswith("noise noise")


def test_values_cross_as_data_and_other_values_compare_equal_to_nothing() -> None:
    code = ("import collections\n"
            "def echo(x):\n    return x\n"
            "def gen():\n    return (i for i in range(3))\n"
            "def counter():\n    return collections.Counter('aab')\n"
            "def fail():\n    raise ValueError('bad input')\n"
            "class Always:\n    def __eq__(self, other):\n        return True\n"
            "def always():\n    return Always()\n")
    values = [(1, "a"), {1, 2}, frozenset({3}), b"\x00\xff", 1 + 2j, {(1, 2): [None, True]}, 10 ** 40, 0.1, -0.0]
    tests = [f"assert echo({v!r}) == {v!r} and type(echo({v!r})) is {type(v).__name__}" for v in values]
    tests += ["assert math.isnan(echo(float('nan'))) and echo(float('inf')) == float('inf')",
              "assert isinstance(gen(), OpaqueValue) and gen() != gen()",
              "assert counter() == {'a': 2, 'b': 1}",
              "try:\n    fail()\nexcept ValueError as e:\n    assert str(e) == 'bad input'\nelse:\n    raise AssertionError",
              "assert always() == 1"]  # an object whose __eq__ says True cannot forge equality: it is not data
    report = run_tests(code, tests, setup="import math\nfrom router_plugins.adapters.mapcoder import OpaqueValue\n")
    assert [t.passed for t in report.tests] == [True] * (len(tests) - 1) + [False], report.tests
    assert OpaqueValue("x", "y") != OpaqueValue("x", "y") and not math.isnan(1.0)


def test_ordinary_programs_keep_working() -> None:
    modules = "asyncio, ssl, urllib.request, http.client, smtplib, json, re, math, itertools, collections, heapq, " \
              "typing, dataclasses"
    code = (f"import {modules}\n"
            "async def twice(x):\n    await asyncio.sleep(0)\n    return 2 * x\n"
            "def run(x):\n    return asyncio.run(twice(x))\n"
            "def scratch():\n    open('f.txt', 'w').write('ok')\n    return open('f.txt').read()\n")
    report = run_tests(code, ["assert run(21) == 42", "assert scratch() == 'ok'"])
    assert report.passed, report


@pytest.mark.parametrize("code, status, expected", [
    ("def f(:\n    pass", RunStatus.LOAD_ERROR, "SyntaxError"),
    ("raise SystemExit(0)", RunStatus.LOAD_ERROR, "SystemExit"),
    ("x = bytearray(2 * 1024 ** 3)", RunStatus.MEMORY, "MemoryError"),
    ("open('big', 'w').write('x' * (5 << 20))", RunStatus.LOAD_ERROR, "File too large"),
    ("import os\nos._exit(3)", RunStatus.EXITED, "exited with code 3"),
])
def test_broken_programs_are_reported_not_raised(code: str, status: RunStatus, expected: str) -> None:
    report = run_tests(code, ["assert True"], memory_mb=256, disk_mb=2)
    assert not report.passed and report.tests == () and report.status is status
    assert expected in (report.error or "")
    assert report.feedback().startswith("The program failed before the tests ran")


def test_a_call_that_never_returns_times_out_alone() -> None:
    code = "def spin():\n    while True:\n        pass\n" + ADD
    report = run_tests(code, ["assert add(1, 2) == 3", "spin()", "assert add(1, 2) == 3"], timeout_s=10,
                       call_timeout_s=1)
    assert [t.passed for t in report.tests] == [True, False, False] and report.status is RunStatus.TIMEOUT
    assert "timed out" in (report.tests[1].error or "") and report.seconds < 5


def test_isolation_is_required_unless_the_weaker_mode_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "isolation_missing", lambda: "user namespaces are disabled (test)")
    with pytest.raises(SandboxUnavailableError, match="user namespaces are disabled.*mode='process'"):
        sandbox.run_tests(ADD, ["assert add(1, 2) == 3"])  # the default mode is isolated
    report = run_tests(ADD, ["assert add(1, 2) == 3"], mode="process")
    assert report.passed and report.mode is SandboxMode.PROCESS and "not a security boundary" in report.limits


def test_a_launcher_that_cannot_isolate_gives_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from router_plugins.adapters.mapcoder import _launch

    if sandbox.isolation_missing() is not None:
        pytest.skip("no isolation here")
    # As when user namespaces are refused (AppArmor, a container): unshare fails before the worker starts.
    monkeypatch.setattr(_launch, "_UNSHARE_FLAGS", ("--no-such-namespace-option",))
    with pytest.raises(SandboxUnavailableError, match="launcher exited with 1 .*no-such-namespace-option"):
        sandbox.run_tests(ADD, ["assert add(1, 2) == 3"])


def test_bad_limits_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="at least one test"):
        run_tests(ADD, [])
    with pytest.raises(ConfigError, match="limits"):
        run_tests(ADD, ["assert True"], timeout_s=0)
    with pytest.raises(ConfigError, match="mode must be"):
        run_tests(ADD, ["assert True"], mode="docker")
    with pytest.raises(ConfigError, match="setup code fails"):
        run_tests(ADD, ["assert True"], setup="raise RuntimeError('broken dataset')")


def processes_with(marker: str) -> list[str]:
    """Command lines of the processes on this machine that contain ``marker``."""
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if marker in line and "ps -eo" not in line]
