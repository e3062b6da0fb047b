"""The code sandbox: tests run one by one in a fresh limited interpreter; bad programs give reports, not crashes."""

from __future__ import annotations

import subprocess
import time

import pytest

from router_plugins.errors import ConfigError
from router_plugins.adapters.mapcoder.sandbox import run_tests

ADD = "def add(a, b):\n    return a + b\n"


def test_each_test_passes_or_fails_on_its_own() -> None:
    report = run_tests(ADD, ["assert add(1, 2) == 3", "assert add(1, 1) == 3", "assert sub(1, 1) == 0"])
    assert [t.passed for t in report.tests] == [True, False, False]
    assert report.tests[1].error == "AssertionError"
    assert "NameError" in (report.tests[2].error or "")
    assert not report.passed and report.n_passed == 1
    assert "Failed: assert add(1, 1) == 3" in report.feedback()
    assert run_tests(ADD, ["assert add(2, 2) == 4"]).passed


def test_setup_and_prints_do_not_disturb_the_report() -> None:
    setup = "def check(f):\n    assert f(2, 3) == 5\n"
    report = run_tests("print('noise ' * 100)\n" + ADD, ["check(add)"], setup=setup)
    assert report.passed


@pytest.mark.parametrize("code, expected", [
    ("def f(:\n    pass", "SyntaxError"),
    ("raise SystemExit(0)", "SystemExit"),
    ("import socket\nsocket.socket()", "network access is disabled"),
    ("x = bytearray(2 * 1024 ** 3)", "MemoryError"),
    ("open('big', 'w').write('x' * (5 << 20))", "File too large"),
    ("import os\nos._exit(3)", "exited with code 3"),
])
def test_broken_programs_are_reported_not_raised(code: str, expected: str) -> None:
    report = run_tests(code, ["assert True"], memory_mb=256)
    assert not report.passed and report.tests == ()
    assert expected in (report.error or "")
    assert report.feedback().startswith("The program failed before the tests ran")


def test_endless_programs_time_out_with_their_children() -> None:
    code = ("import subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)  # sandbox-orphan'])\n"
            "while True:\n    pass\n")
    report = run_tests(code, ["assert True"], timeout_s=2)
    assert report.timed_out and "timed out" in (report.error or "")
    time.sleep(0.5)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sandbox-orphan" not in ps


def test_the_program_sees_no_environment_and_an_empty_folder() -> None:
    report = run_tests("import os\nenv = dict(os.environ)\nfiles = os.listdir('.')",
                       ["assert 'HOME' not in env", "assert files == []"])
    assert report.passed


def test_bad_limits_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="at least one test"):
        run_tests(ADD, [])
    with pytest.raises(ConfigError, match="limits"):
        run_tests(ADD, ["assert True"], timeout_s=0)
