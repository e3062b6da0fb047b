"""The sandbox's seccomp filter, compiled once per host process with libseccomp (``pyseccomp``) into raw BPF.

The worker installs the compiled program with one ``prctl`` call after it has built its root, so no run pays for
importing or compiling anything. The filter allows everything except syscalls a program never needs that reach
beyond its namespaces or let it undo its read-only view: mounts, new namespaces, tracing other processes, kernel
keyrings, modules and BPF, and io_uring (whose operations seccomp cannot see). They fail with EPERM; ``clone3`` fails
with ENOSYS so that libc falls back to ``clone``, whose namespace flags the filter can check.
"""

from __future__ import annotations

import errno
import functools
import tempfile

__all__ = ["compiled_filter"]

DENIED = ("mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "move_mount", "open_tree", "fsopen",
          "fsmount", "fsconfig", "fspick", "mount_setattr", "ptrace", "process_vm_readv", "process_vm_writev",
          "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "init_module",
          "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct",
          "quotactl", "syslog", "io_uring_setup", "io_uring_enter", "io_uring_register", "name_to_handle_at",
          "open_by_handle_at", "lookup_dcookie", "vhangup", "personality")
#: CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP.
CLONE_NEW = (0x10000000, 0x00020000, 0x20000000, 0x40000000, 0x08000000, 0x04000000, 0x02000000)


@functools.lru_cache(maxsize=1)
def compiled_filter() -> tuple[str, int]:
    """``(BPF program as hex, pivot_root's syscall number)`` for this machine's architecture; raises ``ImportError``
    or ``OSError`` when pyseccomp or libseccomp is missing."""
    import pyseccomp  # noqa: PLC0415 - only the host needs it, once

    filt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for name in DENIED:
        try:
            filt.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
        except (OSError, ValueError, RuntimeError):
            pass  # not a syscall on this architecture
    for flag in CLONE_NEW:
        filt.add_rule(pyseccomp.ERRNO(errno.EPERM), "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    filt.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as f:
        filt.export_bpf(f)
        f.seek(0)
        program = f.read()
    if not program or len(program) % 8:
        raise OSError("libseccomp exported an empty or malformed BPF program")
    return program.hex(), int(pyseccomp.resolve_syscall(pyseccomp.system_arch(), "pivot_root"))
