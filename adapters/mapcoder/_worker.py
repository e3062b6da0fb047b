# The sandboxed worker. The host runs it as ``python -I -S -c <_wire.py + this file> REPLY_FD`` (it imports nothing
# from the project, so no project file has to be visible inside the sandbox). Until it receives the program, all it
# runs is trusted setup, whose failures it reports as ``setup_error``: tell the host its pid, build the isolated root,
# set limits, install the seccomp filter. Then it loads the program and answers calls over its private pipes; the
# verdicts are computed by the host, never here. (Not a module of the package: it is sent as source.)
import ctypes
import os
import resource
import sys
import time
import traceback

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
# statvfs flags of a mount → the mount flags a user namespace may not clear when it remounts a bind read-only.
_LOCKED = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
           (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME))
_SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
_DEVICES = ("null", "zero", "random", "urandom")
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    if _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount {source or ''} on {target}: {os.strerror(code)}")


def _bind_read_only(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND)
    flags = os.statvfs(target).f_flag
    locked = sum(ms for st, ms in _LOCKED if flags & st)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | locked)


def _build_root(job: dict, syscall_nr: int) -> None:
    """A fresh root: system dirs and the Python install read-only, a few devices, this PID namespace's /proc, and
    a size-capped tmpfs at /tmp, the only writable place. The old root is detached, so nothing else is reachable."""
    # Any existing directory will do (the mount is private to this mount namespace) as long as it does not hide a
    # directory to bind (a venv under /tmp).
    root = next(d for d in ("/tmp", "/mnt", "/var/tmp", "/run", "/opt", "/srv", "/media")
                if os.path.isdir(d) and not any(p == d or p.startswith(d + "/") for p in job["read_only"]))
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for name in _SYSTEM_DIRS:
        source = "/" + name
        if os.path.islink(source):
            os.symlink(os.readlink(source), root + source)
        elif os.path.isdir(source):
            os.makedirs(root + source)
            _bind_read_only(source, root + source)
    for path in job["read_only"]:
        if os.path.isdir(path) and not os.path.exists(root + path):
            os.makedirs(root + path)
            _bind_read_only(path, root + path)
    os.makedirs(root + "/dev")
    _mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for name in _DEVICES:
        open(f"{root}/dev/{name}", "w").close()
        _mount(f"/dev/{name}", f"{root}/dev/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    _mount(None, root + "/dev", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    os.makedirs(root + "/tmp")
    _mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={job['disk_mb']}m,mode=1777")
    os.chdir(root)
    if _libc.syscall(syscall_nr, b".", b".") != 0:  # pivot_root(".", "."): the old root ends up stacked on top
        raise OSError(ctypes.get_errno(), "pivot_root failed")
    if _libc.umount2(b".", MNT_DETACH) != 0:
        raise OSError(ctypes.get_errno(), "detaching the old root failed")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def _seccomp(program_hex: str) -> None:
    """Install the host-compiled seccomp BPF program (see ``_seccomp.py``); no_new_privs first, as the kernel asks."""
    code = bytes.fromhex(program_hex)
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "installing the seccomp filter failed")


def _limits(job: dict) -> None:
    mem = job["memory_mb"] << 20
    cpu = int(job["cpu_s"]) + 1
    fsize = job["disk_mb"] << 20
    for limit, value in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_FSIZE, fsize),
                         (resource.RLIMIT_NPROC, job["max_processes"]), (resource.RLIMIT_NOFILE, 256),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))


def _brief(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:500]
    except BaseException:  # noqa: B902 - the exception's __str__ is program code
        return type(exc).__name__[:80]


def _message(exc: BaseException) -> str:
    try:
        return str(exc)[:500]
    except BaseException:  # noqa: B902 - the exception's __str__ is program code
        return "?"


class _Channel:
    """Line-delimited messages over the two private pipe ends (requests in, replies out)."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.reader, self.wfd = os.fdopen(rfd, "rb", buffering=1 << 16), wfd

    def send(self, message: dict) -> None:
        data = dumps(message)  # noqa: F821 (from _wire, prepended)
        while data:
            data = data[os.write(self.wfd, data):]

    def receive(self) -> dict | None:
        line = self.reader.readline()
        return loads(line) if line else None  # noqa: F821


def _serve(channel: _Channel, namespace: dict) -> None:
    """Answer calls until the host closes the request pipe; exceptions come back by type name."""
    while (message := channel.receive()) is not None:
        try:
            func = namespace.get(message["call"])
            if func is None:
                raise NameError(f"name {message['call']!r} is not defined by the program")
            result = func(*decode(message["args"]), **decode(message["kwargs"]))  # noqa: F821
            reply = {"ok": encode(result)}  # noqa: F821
        except BaseException as exc:  # noqa: B902 - SystemExit from the program is an answer too
            reply = {"raise": type(exc).__name__[:80], "message": _message(exc)}
        channel.send(reply)


def main() -> None:
    reply_fd = int(sys.argv[1])
    requests = os.dup(0)
    channel = _Channel(requests, reply_fd)
    job = channel.receive()
    sys.path.extend(job["sys_path"])  # site-packages without running .pth files (-S): imports work, startup is fast
    started = time.perf_counter()
    try:
        # This process's pid as the host sees it (/proc is still the host's here): the host moves it into the run's
        # cgroup while the root is built, and sends the program only then.
        channel.send({"pid": int(os.readlink("/proc/self"))})
        if job["isolate"]:
            _build_root(job, job["pivot_root"])
        os.chdir("/tmp" if job["isolate"] else job["cwd"])
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)  # the program reads nothing; its stdout/stderr are the host's capped pipes
        os.close(null)
        try:
            os.setsid()  # out of the launcher's process group: kill(0, ...) reaches only this run
        except OSError:
            pass
        _limits(job)
        if job["isolate"]:
            _seccomp(job["seccomp"])
    except BaseException as exc:
        channel.send({"setup_error": _brief(exc)})
        return
    # Setup is done: say so (with its time, for the overhead benchmark) before the program can write anything.
    channel.send({"ready": (time.perf_counter() - started) * 1e3})
    program = channel.receive()
    if program is None:
        os._exit(0)
    os.environ.clear()  # the program and its children get an empty environment (also no LC_CTYPE coercion)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(program["code"], "solution.py", "exec"), namespace)
    except BaseException as exc:  # noqa: B902 - SystemExit while loading is a load error
        channel.send({"load_error": _brief(exc), "exception": type(exc).__name__[:80]})
        return
    names = sorted(n for n, v in namespace.items() if callable(v) and not n.startswith("__"))
    channel.send({"loaded": names})
    _serve(channel, namespace)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: B902 - the program may have replaced or closed them
            pass
    os._exit(0)  # the host is done: end at once (no atexit of the program); init's exit ends the namespace


main()
