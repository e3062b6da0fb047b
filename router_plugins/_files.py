"""Private files and folders: anything holding outcomes or query-derived data is created 0600 (files) / 0700 (folders).

Modes are set when the file is created (``os.open`` with a mode, never a chmod after a world-readable window), so
other local users cannot read outcome stores, checkpoints or embedding caches. The process umask can only remove
bits, never add them, so these modes are upper bounds. Existing files and folders are left as they are: their owner
chose their mode.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

__all__ = ["FILE_MODE", "DIR_MODE", "private_dir", "private_file", "read_or_create_secret", "write_private"]

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: str | Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700 (existing folders keep their mode); returns it."""
    folder = Path(path).expanduser()
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for part in reversed(missing):
        try:
            part.mkdir(mode=DIR_MODE)
        except FileExistsError:  # created concurrently by another process: its mode is its creator's
            continue
        os.chmod(part, DIR_MODE)  # mkdir's mode is filtered by the umask; make it exactly 0700
    return folder


def private_file(path: str | Path) -> Path:
    """Create ``path`` (empty) with mode 0600 in a private folder unless it exists; returns it."""
    file = Path(path).expanduser()
    private_dir(file.parent)
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return file
    os.close(fd)
    return file


def write_private(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + rename) with mode 0600."""
    target = Path(path).expanduser()
    private_dir(target.parent)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_or_create_secret(path: str | Path, nbytes: int = 32) -> bytes:
    """A random secret kept in a 0600 file: read it, or create it once (the first process to create it wins)."""
    file = Path(path).expanduser()
    for _ in range(3):
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            private_dir(file.parent)
            fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(nbytes))
            try:
                os.link(tmp, file)  # atomic create-if-absent: concurrent creators agree on one secret
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
            continue
        if len(data) >= 16:
            return data
        file.unlink(missing_ok=True)  # truncated or empty: replace it (the old keys become unreachable, not wrong)
    raise OSError(f"could not create the secret file {file}")
