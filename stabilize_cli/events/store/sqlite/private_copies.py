"""Private copies of audited databases in ``$TMPDIR``, and removing those of dead processes.

A copy holds the evidence, secrets included, so none may outlive its reader. A process
ended by SIGKILL or the out-of-memory killer runs no clean-up, so each copy directory
holds a lock file its process keeps ``flock``-ed for as long as it lives: the kernel
drops the lock when the process dies, however it dies. A directory whose lock can be
taken belongs to no living process and is removed by the next run that makes a copy;
nothing else in ``$TMPDIR`` is touched (only directories with our prefix, owned by this
user, whose lock is provably free).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
import time

PREFIX = "stabilize-audit-"
LOCK_NAME = "owner.lock"
UNLOCKED_GRACE_SECONDS = 600.0
"""A directory of ours without a lock file (made by a version before locks, or by a
process killed between creating the directory and its lock) is removed only when older
than this."""

_held: dict[str, int] = {}
"""Copy directory -> the descriptor whose lock marks it as this process's."""


def new_directory() -> str:
    """A fresh private directory, locked as this process's; stale ones are removed first."""
    remove_stale()
    directory = tempfile.mkdtemp(prefix=PREFIX)
    try:
        fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    _held[directory] = fd
    return directory


def remove(directory: str) -> None:
    """Delete one of this process's copies and release its lock."""
    shutil.rmtree(directory, ignore_errors=True)
    fd = _held.pop(directory, None)
    if fd is not None:
        os.close(fd)


def remove_stale(parent: str | None = None) -> list[str]:
    """Remove copy directories whose owner is provably gone; returns those removed."""
    parent = parent or tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(parent) if n.startswith(PREFIX)]
    except OSError:
        return []
    removed: list[str] = []
    for name in names:
        directory = os.path.join(parent, name)
        if directory in _held:
            continue
        if _abandoned(directory):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def _abandoned(directory: str) -> bool:
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return False
    try:
        fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return time.time() - info.st_mtime > UNLOCKED_GRACE_SECONDS
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # held: its process is alive
    finally:
        os.close(fd)
    return True
