"""Whole-run memory and process limits through a cgroup per sandbox run (v2, or v1 memory + pids), when writable.

Without a writable cgroup (an unprivileged user on a machine that delegates none, or no cgroupfs) the sandbox falls
back to per-process limits, and :func:`cgroup_support` says so in one line (it also appears in every report's
``limits``): memory is then capped at ``memory_mb`` per process × the process cap, and the process cap is
``RLIMIT_NPROC``, which Linux (≥ 5.14) counts per user namespace — per run — but does not enforce for a host uid 0.
"""

from __future__ import annotations

import functools
import itertools
import os
import signal
import time
from pathlib import Path

__all__ = ["RunCgroup", "cgroup_support"]

_ROOT = Path("/sys/fs/cgroup")
_COUNTER = itertools.count()
_FALLBACK = ("memory is capped per process (memory_mb × max_processes) and processes by RLIMIT_NPROC (not enforced "
             "when the host runs as root)")


def _own_path(controller: str) -> str:
    """This process's cgroup path in the hierarchy of ``controller`` ("" = the v2 unified one)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if (controller == "" and names == "") or controller in names.split(","):
            return path.lstrip("/")
    raise OSError(f"no {controller or 'unified'} cgroup in /proc/self/cgroup")


@functools.lru_cache(maxsize=1)
def cgroup_support() -> tuple[str, tuple[Path, ...], str]:
    """``(version, parent dirs, note)``: ``"v2"`` / ``"v1"`` with the dirs to create run cgroups in, or ``"none"``
    and why (the note is meant for people: it is logged and put into reports)."""
    try:
        if (_ROOT / "cgroup.controllers").exists():
            parent = _ROOT / _own_path("")
            enabled = (parent / "cgroup.subtree_control").read_text().split()
            if {"memory", "pids"} <= set(enabled) and os.access(parent, os.W_OK):
                return "v2", (parent,), "cgroup v2: memory and process count capped for the whole run"
            return ("none", (), f"cgroup v2 at {parent} has no writable memory+pids delegation; {_FALLBACK}")
        dirs = tuple(_ROOT / c / _own_path(c) for c in ("memory", "pids"))
        if all(d.is_dir() and os.access(d, os.W_OK) for d in dirs):
            return "v1", dirs, "cgroup v1: memory and process count capped for the whole run"
        return "none", (), f"the cgroup v1 memory/pids hierarchies are not writable by this user; {_FALLBACK}"
    except (OSError, ValueError) as exc:
        return "none", (), f"no usable cgroup ({exc}); {_FALLBACK}"


class RunCgroup:
    """The cgroup(s) of one run: created with limits, joined by the launcher, emptied and removed afterwards."""

    def __init__(self, version: str, dirs: tuple[Path, ...]) -> None:
        self.version, self.dirs = version, dirs

    @classmethod
    def create(cls, memory_mb: int, max_processes: int) -> RunCgroup | None:
        """A fresh run cgroup with the limits set, or None when cgroups are not usable (see :func:`cgroup_support`)."""
        version, parents, _ = cgroup_support()
        if version == "none":
            return None
        name = f"router-plugins-sandbox-{os.getpid()}-{next(_COUNTER)}"
        dirs = tuple(parent / name for parent in parents)
        try:
            for d in dirs:
                d.mkdir()
            limit = str(memory_mb << 20)
            if version == "v2":
                _write(dirs[0] / "memory.max", limit)
                _write(dirs[0] / "memory.swap.max", "0", optional=True)
                _write(dirs[0] / "pids.max", str(max_processes))
            else:
                _write(dirs[0] / "memory.limit_in_bytes", limit)
                _write(dirs[0] / "memory.memsw.limit_in_bytes", limit, optional=True)
                _write(dirs[1] / "pids.max", str(max_processes))
        except OSError:
            cls(version, dirs).remove()
            return None
        return cls(version, dirs)

    def add(self, pid: int) -> None:
        """Move ``pid`` in (its later children stay in)."""
        for d in self.dirs:
            _write(d / "cgroup.procs", str(pid))

    def oom_killed(self) -> bool:
        """The kernel killed a process of the run for going over the memory limit."""
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        try:
            fields = dict(line.split() for line in (self.dirs[0] / name).read_text().splitlines())
        except (OSError, ValueError):
            return False
        return int(fields.get("oom_kill", 0)) > 0

    def kill(self) -> None:
        """SIGKILL every process still in the run cgroup."""
        if self.version == "v2" and (self.dirs[0] / "cgroup.kill").exists():
            _write(self.dirs[0] / "cgroup.kill", "1", optional=True)
            return
        for d in self.dirs:
            try:
                pids = (d / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError, ValueError):
                    pass

    def remove(self, wait_s: float = 1.0) -> bool:
        """Remove the run cgroup once empty (retrying while the killed processes exit); never raises."""
        deadline = time.monotonic() + wait_s
        for d in self.dirs:
            while d.exists():
                try:
                    d.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        return False
                    self.kill()
                    time.sleep(0.005)
        return True


def _write(path: Path, value: str, optional: bool = False) -> None:
    try:
        path.write_text(value)
    except OSError:
        if not optional:
            raise
