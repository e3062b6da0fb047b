"""Start the sandboxed worker, talk to it over private pipes, read its output with a cap, and end every process of it.

Isolated mode (Linux): util-linux ``unshare`` makes new user, mount, PID, network, IPC, UTS and cgroup namespaces
(the caller's uid mapped to root inside) and forks the worker as the PID namespace's init, which dies with
``unshare`` (``--kill-child``). The worker tells the host its pid; the host moves it into the run's cgroup while the
worker builds its root, and sends the program only then, so every process of the program starts inside. The worker builds its read-only root,
applies rlimits and the seccomp filter compiled by :mod:`._seccomp`, then loads the program. Process mode runs the same worker as a
plain limited process in a host temp dir: no namespaces, so not a security boundary.
"""

from __future__ import annotations

import functools
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from router_plugins.adapters.mapcoder import _wire
from router_plugins.adapters.mapcoder._cgroups import RunCgroup
from router_plugins.adapters.mapcoder._seccomp import compiled_filter

__all__ = ["SetupFailed", "Worker", "WorkerGone", "isolation_missing"]

_HERE = Path(__file__).resolve().parent
#: Longest reply line accepted from the worker (a bigger one is a protocol violation: the run is stopped).
REPLY_LIMIT = 4 << 20
_UNSHARE_FLAGS = ("--user", "--map-root-user", "--mount", "--net", "--ipc", "--uts", "--pid", "--cgroup", "--fork",
                  "--kill-child", "--propagation", "private")


@functools.lru_cache(maxsize=1)
def _worker_source() -> str:
    wire = (_HERE / "_wire.py").read_text()
    return wire + "\n\n" + (_HERE / "_worker.py").read_text()


@functools.lru_cache(maxsize=1)
def isolation_missing() -> str | None:
    """Why isolated mode cannot run here (what is missing and how to get it), or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"isolation needs Linux namespaces; this is {sys.platform}"
    if shutil.which("unshare") is None:
        return "util-linux `unshare` is not on PATH (apt-get install util-linux)"
    try:
        if int(Path("/proc/sys/user/max_user_namespaces").read_text()) == 0:
            return "user namespaces are disabled (sysctl user.max_user_namespaces = 0)"
    except (OSError, ValueError):
        pass
    try:
        compiled_filter()
    except (ImportError, OSError, RuntimeError) as exc:
        return f"seccomp is unavailable ({exc}); pip install pyseccomp and install libseccomp2"
    return None


class SetupFailed(Exception):
    """The worker could not isolate itself (before any program code ran); the message says why."""


class WorkerGone(Exception):
    """The worker stopped answering: ``status`` says why (timeout, exited, memory, output_limit, protocol_error)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class Worker:
    """One started worker process: send a message, wait for its reply line, collect capped stdout/stderr."""

    def __init__(self, job: dict[str, Any], *, isolate: bool, memory_mb: int, max_processes: int,
                 output_limit: int) -> None:
        self.isolate, self.output_limit = isolate, output_limit
        self.output = {1: bytearray(), 2: bytearray()}
        self.truncated = False
        self.cgroup = RunCgroup.create(memory_mb, max_processes) if isolate else None
        self.oom_killed = False
        self._tmp = None if isolate else tempfile.mkdtemp(prefix="router-plugins-sandbox-")
        req_r, self._req = os.pipe()
        self._rep, rep_w = os.pipe()
        source = _worker_source()
        python = [sys.executable, "-I", "-S", "-c", source, str(rep_w)]
        cmd = [shutil.which("unshare") or "unshare", *_UNSHARE_FLAGS, "--", *python] if isolate else python
        try:
            self.proc = subprocess.Popen(cmd, stdin=req_r, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         pass_fds=(rep_w,), env={}, cwd=self._tmp or "/", start_new_session=True)
        except OSError:
            os.close(self._req)
            os.close(self._rep)
            if self.cgroup is not None:
                self.cgroup.remove()
            if self._tmp is not None:
                _remove_tree(self._tmp)
            raise
        finally:
            os.close(req_r)
            os.close(rep_w)
        self._fds = {self.proc.stdout.fileno(): 1, self.proc.stderr.fileno(): 2}  # type: ignore[union-attr]
        self._sel = selectors.DefaultSelector()
        for fd in (*self._fds, self._rep):
            os.set_blocking(fd, False)
            self._sel.register(fd, selectors.EVENT_READ)
        self._buffer = bytearray()
        if isolate:
            job = job | dict(zip(("seccomp", "pivot_root"), compiled_filter()))
        self._pending = _wire.dumps(job | {"isolate": isolate, "cwd": self._tmp})
        self.closed = False
        self.init_pid: int | None = None
        self.setup_ms = 0.0

    def load(self, code: str, deadline: float) -> dict[str, Any]:
        """Send the program once the worker is set up and in the run cgroup; its first answer (loaded / load_error).
        Raises :class:`SetupFailed` when the trusted setup failed (before the program was sent, so the program cannot
        forge it). The cgroup move overlaps the worker building its root (both wait on the kernel)."""
        first = self._trusted(deadline)
        self.init_pid = int(first["pid"])
        if self.cgroup is not None:
            try:
                self.cgroup.add(self.init_pid)
            except OSError:  # e.g. the cgroup was removed under us: per-process limits still hold
                self.cgroup.remove()
                self.cgroup = None
        self.setup_ms = float(self._trusted(deadline, "ready")["ready"])
        return self.exchange({"code": code}, deadline)

    def _trusted(self, deadline: float, key: str = "pid") -> dict[str, Any]:
        """A setup message (sent before the program exists); SetupFailed for anything else."""
        try:
            message = self.exchange(None, deadline)
        except WorkerGone as exc:
            if exc.status != "exited":
                raise
            self.close(grace_s=0.5)  # the launcher failed (e.g. user namespaces refused): say what it said
            said = bytes(self.output[2]).decode(errors="replace").strip().splitlines()
            raise SetupFailed(f"the sandbox launcher exited with {self.proc.returncode} before the worker was set "
                              f"up: {' / '.join(said[-3:]) or 'no message'}") from None
        if key not in message:
            raise SetupFailed(str(message.get("setup_error", f"unexpected setup message {str(message)[:200]}")))
        return message

    def exchange(self, message: dict[str, Any] | None, deadline: float) -> dict[str, Any]:
        """Send ``message`` (None: only wait) and return the next reply; :class:`WorkerGone` when none can come."""
        if message is not None:
            self._pending += _wire.dumps(message)
        if self._pending:
            self._sel.register(self._req, selectors.EVENT_WRITE)
        try:
            while True:
                if b"\n" in self._buffer:
                    line, _, rest = bytes(self._buffer).partition(b"\n")
                    self._buffer = bytearray(rest)
                    try:
                        return _wire.loads(line)
                    except _wire.WireError as exc:
                        raise WorkerGone("protocol_error", f"the program broke the call protocol: {exc}") from None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerGone("timeout", "timed out")
                for key, _ in self._sel.select(min(left, 1.0)):
                    self._on_ready(key.fd)
        finally:
            if self._req in self._sel.get_map():
                self._sel.unregister(self._req)

    def _on_ready(self, fd: int) -> None:
        if fd == self._req:
            try:
                self._pending = self._pending[os.write(fd, self._pending):]
            except BrokenPipeError:
                raise WorkerGone("exited", "the program closed its input") from None
            if not self._pending:
                self._sel.unregister(fd)
            return
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        if fd == self._rep:
            if not data:
                raise WorkerGone("exited", "the program ended")
            self._buffer += data
            if len(self._buffer) > REPLY_LIMIT:
                raise WorkerGone("protocol_error", f"a reply was longer than {REPLY_LIMIT} bytes")
            return
        if not data:
            self._sel.unregister(fd)
            return
        out = self.output[self._fds[fd]]
        out += data[: self.output_limit - len(out)]
        if len(data) > 0 and len(out) >= self.output_limit:
            self.truncated = True
            raise WorkerGone("output_limit", f"the program wrote more than {self.output_limit} bytes of output")

    def close(self, grace_s: float = 0.0) -> int | None:
        """End every process of the run, remove its cgroup and temp dir (never raises); the exit status, which
        ``grace_s`` lets the worker report itself when it is already ending."""
        if self.closed:
            return self.proc.returncode
        self.closed = True
        os.close(self._req)
        if grace_s > 0:  # a worker whose request pipe closes exits by itself within milliseconds
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
        init = (self.init_pid or _only_child(self.proc.pid)) if self.isolate and self.proc.returncode is None else None
        try:
            # SIGKILL to the namespace's init ends the whole PID namespace; unshare then exits with it.
            os.kill(init, signal.SIGKILL) if init else os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            _killpg(self.proc.pid)
            self.proc.wait()
        _killpg(self.proc.pid)  # process mode: children left in the session (daemons that setsid escape it)
        self._drain()
        self._sel.close()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()  # type: ignore[union-attr]
        os.close(self._rep)
        if self.cgroup is not None:
            self.oom_killed = self.cgroup.oom_killed()
            self.cgroup.kill()
            self.cgroup.remove()
        if self._tmp is not None:
            _remove_tree(self._tmp)
        return self.proc.returncode

    def _drain(self) -> None:
        """Read what the dead run left in its output pipes, up to the cap."""
        for fd, stream in self._fds.items():
            out = self.output[stream]
            while len(out) < self.output_limit:
                try:
                    data = os.read(fd, 1 << 16)
                except (BlockingIOError, OSError):
                    break
                if not data:
                    break
                out += data[: self.output_limit - len(out)]


def _only_child(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if len(children) == 1 else None


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _remove_tree(path: str) -> None:
    """Remove a process-mode temp dir; a straggler still writing into it only delays removal (retried, logged)."""
    for _ in range(20):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            return
        time.sleep(0.01)
    import logging  # noqa: PLC0415

    logging.getLogger("router_plugins").warning("router_plugins sandbox: could not remove %s (a process of the "
                                                "run is still writing into it)", path)
