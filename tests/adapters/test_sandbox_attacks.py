"""Hostile programs against the isolated sandbox: each attack is really attempted and must be contained, with a typed
report, while the host keeps running. (Skipped where isolation is unavailable: the weaker mode promises none of it.)"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest

from router_plugins.adapters.mapcoder._cgroups import cgroup_support
from router_plugins.adapters.mapcoder.sandbox import RunStatus, isolation_missing, run_tests
from test_sandbox import processes_with

pytestmark = pytest.mark.skipif(isolation_missing() is not None, reason=f"no isolation here: {isolation_missing()}")

# A HumanEval-style hidden test: the host's check() must see add(2, 3) == 5.
CHECK = "SECRET = 'hidden-test-7f3a'\ndef check(candidate):\n    assert candidate(2, 3) == 5, SECRET\n"
WRONG = "def add(a, b):\n    return 3\n"


def test_no_network_at_all() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    port = server.getsockname()[1]
    code = f"""
import importlib, socket, subprocess, ctypes
def attempts():
    out = []
    def attempt(name, fn):
        try:
            fn()
            out.append(name + ': connected')
        except BaseException as exc:
            out.append(name + ': ' + type(exc).__name__)
    import _socket
    attempt('_socket', lambda: _socket.socket().connect(('127.0.0.1', {port})))
    attempt('reload', lambda: importlib.reload(socket).create_connection(('127.0.0.1', {port}), timeout=1))
    attempt('dns', lambda: socket.getaddrinfo('example.com', 80))
    attempt('bash', lambda: subprocess.run(['bash', '-c', 'echo x > /dev/tcp/127.0.0.1/{port}'], check=True,
                                          timeout=2))
    attempt('python', lambda: subprocess.run(['python3', '-c', 'import socket; socket.create_connection(("127.0.0.1",'
                                               ' {port}), timeout=1)'], check=True, timeout=5))
    return out
"""
    report = run_tests(code, ["out = attempts()\nassert len(out) == 5 and not any(o.endswith('connected') for o in out),"
                              " out"], timeout_s=20)
    with pytest.raises(TimeoutError):
        server.accept()  # nothing ever reached the host's listener
    server.close()
    assert report.passed, report


def test_the_host_environment_home_and_processes_are_invisible(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-host-secret")
    (tmp_path / "private.txt").write_text("host file")
    code = f"""
import os
def peek():
    seen = [repr(dict(os.environ)), str(os.getppid()), repr(sorted(os.listdir('/proc')))]
    for path in ('/proc/{os.getpid()}/environ', '/proc/{os.getpid()}/mem', '/etc/passwd',
                 '{tmp_path}/private.txt', '{Path.home()}/.bashrc', '/root/.bashrc', '{Path(__file__).resolve().parent}'):
        try:
            seen.append(path + '=' + (open(path, 'rb').read(200).decode('latin-1') if not os.path.isdir(path)
                                     else repr(os.listdir(path))))
        except OSError as exc:
            seen.append(path + ': ' + type(exc).__name__)
    return seen
"""
    report = run_tests(code, ["assert 'sk-fake-host-secret' not in repr(peek())",
                              "assert 'host file' not in repr(peek())",
                              "assert peek()[0] == '{}' and peek()[1] == '0'",
                              "assert all(p in ('1', 'self', 'thread-self') or not p.isdigit() for p in eval(peek()[2]))",
                              "assert all(': ' in p for p in peek()[3:]), peek()[3:]"])
    assert report.passed, [t for t in report.tests if not t.passed]


def test_killing_or_stopping_the_parent_leaves_the_host_running() -> None:
    host = os.getpid()
    code = f"""
import os, signal
def attack():
    for pid, sig in ((os.getppid(), signal.SIGSTOP), ({host}, signal.SIGSTOP), ({host}, signal.SIGKILL),
                     (os.getppid(), signal.SIGKILL), (-1, signal.SIGKILL)):
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    return 3
"""
    report = run_tests(code, ["assert attack() == 3"], setup="")
    assert report.status in (RunStatus.OK, RunStatus.EXITED)
    assert os.getpid() == host  # still here, and not stopped: this line ran


@pytest.mark.skipif(cgroup_support()[0] == "none" and os.geteuid() == 0,
                    reason="no pids cgroup, and RLIMIT_NPROC is not enforced for a host root")
def test_a_fork_bomb_is_capped_and_leaves_nothing_behind() -> None:
    code = ("import os, time\n"
            "def bomb():\n"
            "    n = 0\n"
            "    while True:\n"
            "        try:\n"
            "            if os.fork() == 0:\n"
            "                time.sleep(30)  # sandbox-fork-bomb\n"
            "                os._exit(0)\n"
            "            n += 1\n"
            "        except OSError:\n"
            "            return n\n")
    report = run_tests(code, ["assert bomb() < 16, bomb()"], max_processes=16, timeout_s=10)
    assert report.passed, report  # fork() failed before the 16th child: the cap holds for the whole run
    time.sleep(0.2)
    assert not processes_with("sandbox-fork-bomb")


def test_a_setsid_double_fork_daemon_dies_with_the_run() -> None:
    code = ("import os, subprocess, sys\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            "        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', "
            "'sandbox-daemon-marker'])\n"
            "    os._exit(0)\n" + ADD)
    report = run_tests(code, ["assert add(1, 2) == 3"])
    assert report.passed
    time.sleep(0.2)
    assert not processes_with("sandbox-daemon-marker")


ADD = "def add(a, b):\n    return a + b\n"


@pytest.mark.skipif(cgroup_support()[0] == "none", reason="no writable memory cgroup: memory is capped per process")
def test_memory_is_capped_for_the_whole_run_not_per_process() -> None:
    code = ("import os, time\n"
            "def hog():\n"
            "    kids = []\n"
            "    for _ in range(4):\n"
            "        pid = os.fork()\n"
            "        if pid == 0:\n"
            "            block = bytearray(120 << 20)\n"
            "            for i in range(0, len(block), 4096):\n"
            "                block[i] = 1\n"
            "            time.sleep(5)\n"
            "            os._exit(0)\n"
            "        kids.append(pid)\n"
            "    return [os.waitpid(pid, 0)[1] for pid in kids]\n")
    # Each child stays under the per-process cap (256 MB); together they would hold 480 MB of a 256 MB run.
    report = run_tests(code, ["assert all(s == 0 for s in hog())"], memory_mb=256, timeout_s=15)
    assert report.status is RunStatus.MEMORY and not report.passed, report


def test_a_one_gigabyte_output_flood_is_cut_off_and_the_host_does_not_grow() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = "import os\nchunk = b'x' * (1 << 20)\nfor _ in range(1024):\n    os.write(1, chunk)\n" + ADD
    report = run_tests(code, ["assert add(1, 2) == 3"], timeout_s=20)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert report.status is RunStatus.OUTPUT_LIMIT and not report.passed
    assert len(report.stdout) <= 1 << 20 and grown_mb < 50


def test_writes_outside_the_temp_dir_fail_and_the_temp_dir_is_capped(tmp_path: Path) -> None:
    code = f"""
import os
def writes():
    out = {{}}
    for path in ('{tmp_path}/escaped', '/usr/escaped', '/escaped', '/proc/escaped', '/dev/escaped',
                 '/tmp/../escaped', '{os.path.realpath(os.__file__)}'):
        try:
            open(path, 'a').write('x')
            out[path] = 'written'
        except OSError as exc:
            out[path] = type(exc).__name__
    return out
def fill():
    with open('/tmp/big', 'wb') as f:
        for _ in range(64):
            f.write(b'x' * (1 << 20))
"""
    report = run_tests(code, ["assert 'written' not in writes().values(), writes()",
                              "fill()"], disk_mb=8)
    assert report.tests[0].passed, report
    assert not report.tests[1].passed and "OSError" in (report.tests[1].error or "")  # ENOSPC / EFBIG
    assert not (tmp_path / "escaped").exists()


def test_a_process_writing_into_the_temp_dir_during_cleanup_cannot_break_it() -> None:
    # Relative paths: the run's temp dir in both modes. The scribbler stops by itself after 2 s, so that in process
    # mode (where a setsid daemon outlives the run) it does not keep running after the test.
    code = ("import os, threading, time\n"
            "def scribble():\n"
            "    i, end = 0, time.time() + 2\n"
            "    while time.time() < end:\n"
            "        i += 1\n"
            "        try:\n"
            "            os.makedirs(f'd{i % 50}', exist_ok=True)\n"
            "            open(f'd{i % 50}/f{i}', 'w').close()\n"
            "        except OSError:\n"
            "            pass\n"
            "    os._exit(0)\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    scribble()\n"
            "threading.Thread(target=scribble, daemon=True).start()\n" + ADD)
    for mode in ("isolated", "process"):
        report = run_tests(code, ["assert add(1, 2) == 3"], mode=mode, timeout_s=5)  # must not raise
        assert report.tests and report.tests[0].passed, report
    # Isolated runs have no host temp dir at all (a tmpfs that vanishes with the mount namespace). In process mode
    # the daemon outlives the run (that mode is no boundary) and may keep the dir alive: removal is logged, not raised.
    time.sleep(2.2)  # the daemon has stopped
    for leftover in Path(tempfile.gettempdir()).glob("router-plugins-sandbox-*"):
        shutil.rmtree(leftover, ignore_errors=True)


@pytest.mark.parametrize("forgery", [
    "import os\nprint('__router_plugins_sandbox__{\"results\": [[\"check(add)\", true, null]]}')\nos._exit(0)\n",
    "def check(candidate):\n    pass\n",
    "import os\ndef check(candidate):\n    os._exit(0)\n",
    "import os\n_real = add\ndef add(a, b):\n    os._exit(0)\n",
    "import os, signal\ndef add(a, b):\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 3\n",
    "import sys\ndef add(a, b):\n    sys.exit(0)\n",
    "import os, sys\ndef add(a, b):\n    os.write(int(sys.argv[1]), b'{\"passed\": true, \"results\": \"all\"}\\n')\n"
    "    return 3\n",
    "import os, sys\nos.write(int(sys.argv[1]), b'{\"setup_error\": \"forged\"}\\n')\n",  # a report, not a raise
    "class Five(int):\n    def __eq__(self, other):\n        return True\ndef add(a, b):\n    return Five(3)\n",
])
def test_a_wrong_program_cannot_forge_a_pass(forgery: str) -> None:
    report = run_tests(WRONG + forgery, ["check(add)"], setup=CHECK, entry_point="add")
    assert not report.passed, report


def test_hidden_tests_never_enter_the_sandbox() -> None:
    code = ("import os\n"
            "def add(a, b):\n"
            "    seen = open('/proc/self/cmdline', 'rb').read()\n"
            "    for fd in os.listdir('/proc/self/fd'):\n"
            "        try:\n"
            "            os.set_blocking(int(fd), False)\n"
            "            seen += os.read(int(fd), 1 << 20)\n"
            "        except OSError:\n"
            "            pass\n"
            "    return -1 if b'hidden-test-7f3a' in seen or b'def check' in seen else a + b\n")
    assert run_tests(code, ["check(add)"], setup=CHECK, entry_point="add").passed  # it saw no trace of the test


def test_the_read_only_view_cannot_be_undone() -> None:
    code = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def attempts():
    out = {}
    out['remount /usr rw'] = libc.mount(None, b'/usr', None, 32 | 4096, None)  # MS_REMOUNT | MS_BIND
    out['unmount /usr'] = libc.umount2(b'/usr', 2)
    out['new user namespace'] = libc.unshare(0x10000000)
    out['new mount namespace'] = libc.unshare(0x00020000)
    out['ptrace self child'] = libc.ptrace(16, 1, None, None)  # PTRACE_ATTACH to init
    try:
        os.chroot('/tmp')
        out['chroot'] = 0
    except OSError:
        out['chroot'] = -1
    return out
"""
    report = run_tests(code, ["out = attempts()\nassert all(v == -1 for v in out.values()), out"])
    assert report.passed, report
