"""Noticing that a database file changed, without writing anything: inotify (Linux).

Reading a WAL database in place with ``immutable=1`` is only right while nothing writes to
it, so the reader must learn of every write. File times alone cannot say so: Linux stamps
them from a clock that ticks every few milliseconds (whole seconds on some file systems),
so a write in the same tick as the last one leaves them equal. The kernel's inotify queue
has no such blind spot: every create, delete, rename, write or attribute change of a
watched file is queued as it happens, and the queue is read, never written to disk.

What it cannot see (so these files are read through a private copy instead): writes
from another machine to a network file system, and file systems this module does not
know to be local. Writes through a shared writable ``mmap`` raise no event (SQLite never
writes the main file that way unless built with ``SQLITE_MMAP_READWRITE``); such a write
still changes the file's times, which the reader compares too.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
import threading

IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_UNMOUNT = 0x2000
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x1000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = 0o2000000

FILE_EVENTS = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF
"""On the database's inode: any write, truncation, time or link change, through any path."""
CONTENT_EVENTS = IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF
"""On the database's inode: its bytes written (what makes a copy of it torn)."""
DIRECTORY_EVENTS = (
    IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF
)
"""In its directory: a ``-wal``/``-shm``/``-journal`` appearing (a writer opening), or the
database renamed, replaced or removed. Writes to other files there are not asked for."""
ALWAYS_CHANGED = IN_Q_OVERFLOW | IN_IGNORED | IN_UNMOUNT
"""Lost events, or a watch the kernel dropped: nothing can be vouched for any more."""

LOCAL_FILE_SYSTEMS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "f2fs", "zfs", "bcachefs", "jfs"}
)
"""Where every write is made by this kernel, so inotify sees it. Network and FUSE file
systems (and overlayfs, whose lower layers can change beneath it) are not listed."""

_EVENT = struct.Struct("iIII")


@functools.cache
def _inotify() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_init1.restype = ctypes.c_int
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        libc.inotify_add_watch.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None  # not Linux (or no inotify in this C library)
    return libc


def file_system_type(path: str) -> str | None:
    """The type of the file system ``path`` is reached through (``/proc/self/mountinfo``),
    or None when it cannot be told.

    The mount is the one whose mount point is the longest prefix of the real path (the
    last such, as a later mount hides an earlier one there), not the one with the file's
    device number: on overlayfs a file reports the device of the layer it lies in, which
    can be listed as a plain ext4 mount elsewhere while the overlay's lower layer changes
    beneath it.
    """
    try:
        real = os.path.realpath(path)
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
            lines = mounts.read().splitlines()
    except OSError:
        return None
    return mount_type(real, lines)


def mount_type(real: str, mountinfo: list[str]) -> str | None:
    """The type of the mount ``real`` (a resolved path) lies in, from mountinfo lines."""
    best: tuple[int, str] | None = None
    for line in mountinfo:
        fields = line.split()
        if len(fields) < 5 or " - " not in line:
            continue
        point = _unescape_mount_point(fields[4])
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        after = line.split(" - ", 1)[1].split()
        if inside and after and (best is None or len(point) >= best[0]):
            best = (len(point), after[0])
    return None if best is None else best[1]


def _unescape_mount_point(field: str) -> str:
    """Mount points escape space, tab, newline and backslash as three octal digits."""
    for escaped in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(escaped, chr(int(escaped[-3:], 8)))
    return field


class ChangeWatch:
    """Every change to one database file and its side files since :meth:`open`.

    Once a change is seen it stays seen (:meth:`changed` is sticky), whichever thread
    read the event.
    """

    def __init__(self, fd: int, file_wd: int, directory_wd: int | None, names: frozenset[bytes]):
        self._fd: int | None = fd
        self._file_wd = file_wd
        self._directory_wd = directory_wd
        self._names = names
        self._changed = False
        self._lock = threading.Lock()
        self._pid = os.getpid()
        """A forked child shares the parent's queue: reading it there would take events
        the parent needs, so in any other process the watch vouches for nothing."""

    @classmethod
    def open(
        cls, real_path: str, *, file_events: int = FILE_EVENTS, directory: bool = True
    ) -> ChangeWatch | None:
        """Watch ``real_path`` (no symlink) for ``file_events``, and its directory unless
        told not to; None where that cannot be relied on (not Linux, an unknown or remote
        file system, no inotify left)."""
        if file_system_type(real_path) not in LOCAL_FILE_SYSTEMS:
            return None
        libc = _inotify()
        if libc is None:
            return None
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return None  # e.g. the per-user limit of inotify instances reached
        parent, base = os.path.split(real_path)
        file_wd = libc.inotify_add_watch(fd, os.fsencode(real_path), file_events)
        directory_wd = None
        if directory:
            directory_wd = libc.inotify_add_watch(
                fd, os.fsencode(parent or "."), DIRECTORY_EVENTS | IN_ONLYDIR
            )
        if file_wd < 0 or (directory_wd is not None and directory_wd < 0):
            os.close(fd)
            return None
        raw = os.fsencode(base)
        names = frozenset({raw, raw + b"-wal", raw + b"-shm", raw + b"-journal"})
        return cls(fd, file_wd, directory_wd, names)

    def changed(self) -> bool:
        """Whether anything that matters happened to the file since the watch began."""
        if os.getpid() != self._pid:  # before the lock: a fork may have copied it held
            return True
        with self._lock:
            if self._changed or self._fd is None:
                return True
            try:
                while not self._changed:
                    chunk = os.read(self._fd, 65536)
                    if not chunk:
                        break
                    self._changed = self._any_relevant(chunk)
            except BlockingIOError:
                pass  # the queue is empty
            except OSError:
                self._changed = True
            return self._changed

    def _any_relevant(self, chunk: bytes) -> bool:
        offset = 0
        while offset + _EVENT.size <= len(chunk):
            wd, mask, _cookie, length = _EVENT.unpack_from(chunk, offset)
            name = chunk[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
            offset += _EVENT.size + length
            if mask & ALWAYS_CHANGED or wd == self._file_wd:
                return True
            if wd == self._directory_wd and (not name or name in self._names):
                return True
        return False

    def __del__(self) -> None:
        # Instances are few (128 per user by default): a store left unclosed gives its back.
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                self._changed = True
