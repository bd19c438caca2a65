"""File locks of a local store: a short one around opening, and the writer's pid file.

Whole-file advisory locks through the operating system: ``fcntl.flock`` on Linux and macOS,
``msvcrt.locking`` on Windows (there a lock covers one byte far past the pid, so other processes can
still read who holds it). Either way the lock dies with the process that held it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

_BUSY = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK)
_WINDOWS_LOCK_OFFSET = 1 << 30  # the byte Windows locks: beyond any pid, so the pid stays readable

if sys.platform == "win32":
    import msvcrt

    def try_lock(fd: int) -> bool:
        """Take the exclusive lock on ``fd`` without waiting; False if another process holds it."""
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in _BUSY:
                return False
            raise
        return True

    def unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(fd: int) -> bool:
        """Take the exclusive lock on ``fd`` without waiting; False if another process holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in _BUSY:
                return False
            raise
        return True

    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def lock(fd: int) -> None:
    """Take the exclusive lock on ``fd``, waiting as long as it takes."""
    delay = 0.005
    while not try_lock(fd):
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


@contextlib.contextmanager
def opening(path: Path) -> Iterator[None]:
    """Serialise store opening across processes (a short blocking lock, not the writer lock).
    A folder we cannot write is opened without it: nobody writes it through us."""
    try:
        fd = os.open(path / ".open.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise
        yield
        return
    try:
        lock(fd)
        yield
    finally:
        with contextlib.suppress(OSError):
            unlock(fd)
        os.close(fd)


def read_pid(fd: int) -> int | None:
    """The pid written in a lock file (None: empty, or unreadable)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 32).decode().strip()
        return int(raw) if raw else None
    except (OSError, ValueError):
        return None


def write_pid(fd: int) -> None:
    """Replace the lock file's content with this process's pid."""
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, str(os.getpid()).encode())
