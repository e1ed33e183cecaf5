"""Opening a database for audit so that not one byte of it, or of its side files, changes.

Facts that shape this (../shared/reliability-matrix.md, RO): ``sqlite3.connect`` creates a
missing file; ``mode=ro`` on a WAL database whose ``-wal``/``-shm`` are absent creates them
and leaves them behind; ``immutable=1`` gives wrong answers on a file that changes while it
is read. So: check the file first and open ``mode=ro`` where that creates nothing.

A WAL database without side files (its writer closed) is read in place with
``immutable=1`` only while it provably does not change: a kernel watch (``watch.py``) on
the file and its directory, set before the first read, and the file's identity (device,
inode, size, mtime, ctime) must be unchanged and no side file present after every read,
before its rows are used; otherwise that read is retried on a private copy. Where no watch
can be relied on, or the file changed moments ago, the copy is taken up front.
"""

from __future__ import annotations

import codecs
import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import SchemaError, StoreBusyError, StoreOpenError
from .connection import event_instant, resolve_busy_timeout, translate_errors
from .unindexed import AuditConnection

if TYPE_CHECKING:  # the watch (ctypes), copies (tempfile, shutil): imported where used,
    from .watch import ChangeWatch  # so a Tab that reads in place never pays for them

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
SIDE_FILES = ("-wal", "-shm", "-journal")
QUIET_SECONDS = 0.1
"""How long a file must have been left alone (by its mtime and ctime) before it is read in
place: longer than the clock tick file times are stamped with, so a write after the
reader looked cannot carry the same times as the one before. With the change watch this
is defence in depth, on purpose: the times alone fail if the clock steps back, the watch
alone if a file system is wrongly taken for local (a write the kernel never sees)."""
COARSE_QUIET_SECONDS = 2.0
"""The same, for a file system that keeps whole seconds only."""
QUIET_WAITS = 3
"""Waits for a file written moments ago to fall quiet before copying it instead."""
COPY_BYTES_PER_SECOND = 400e6
"""A rough copy speed: a wait for quiet longer than the copy would take is not made."""


class ChangedWhileRead(StoreBusyError):
    """A file read in place as unchanging changed during a read: the read's rows must not
    be used. The store retries the read on a private copy; uncaught, it is exit 5."""

    def __init__(self, target: ReadOnlyTarget) -> None:
        super().__init__(f"{target.original}: changed while being read; retry")
        self.target = target


@dataclass(frozen=True)
class ReadOnlyTarget:
    """The file a read-only store opens: the database itself, or a private snapshot copy."""

    original: str
    open_path: str
    wal: bool
    copy_dir: str | None = None
    copied_from: tuple[tuple[int, int] | None, ...] = ()
    """Size and mtime of the source (and its -wal) when the copy was taken."""
    watch: ChangeWatch | None = None
    """Set when the file is read in place as unchanging (``immutable=1``)."""
    identity: tuple[int, ...] = ()
    """Device, inode, size, mtime and ctime of that file when its watch began."""

    @property
    def is_copy(self) -> bool:
        return self.copy_dir is not None

    @property
    def is_unchanging(self) -> bool:
        """Read in place with ``immutable=1``: every read must be vouched for after."""
        return self.watch is not None

    @property
    def kind(self) -> str:
        """How the file is read: 'in place', 'unchanged in place' or 'private copy'."""
        if self.is_copy:
            return "private copy"
        return "unchanged in place" if self.is_unchanging else "in place"

    def unchanged(self) -> bool:
        """For a file read as unchanging: whether it still provably is (nothing written,
        created, renamed or removed since the watch began). True for the other kinds."""
        if self.watch is None:
            return True
        if self.watch.changed():
            return False
        try:
            identity = _identity(os.stat(self.open_path))
        except OSError:
            return False
        return identity == self.identity and not _any_side_file(self.open_path)

    def stale(self) -> bool:
        """Whether the source has changed since the private copy was taken (or since an
        unchanging file's watch began)."""
        if self.is_unchanging:
            return not self.unchanged()
        return self.is_copy and _signature(os.path.realpath(self.original)) != self.copied_from

    def cleanup(self) -> None:
        if self.copy_dir is not None:
            from . import private_copies  # noqa: PLC0415 - only a copy's reader

            private_copies.remove(self.copy_dir)
        if self.watch is not None:
            self.watch.close()


@contextmanager
def vouched(target: ReadOnlyTarget | None, path: str) -> Iterator[None]:
    """A read whose rows are used only if a file read in place as unchanging still is
    when the block ends: else :class:`ChangedWhileRead`, instead of the block's result or
    error (a torn page can look like corruption: it is judged after). The store's reads
    and Tab completion's both go through here."""
    if target is None or not target.is_unchanging:
        with translate_errors(path):
            yield
        return
    try:
        with translate_errors(path):
            yield
    except Exception as error:
        if not target.unchanged():
            raise ChangedWhileRead(target) from error
        raise
    if not target.unchanged():
        raise ChangedWhileRead(target)


def prepare_read_only(
    path: str,
    busy_timeout: float | None = None,
    *,
    in_place: bool = True,
    copy_limit: int | None = None,
) -> ReadOnlyTarget:
    """Check the file and decide how to open it without writing anything.

    A WAL database without side files is read in place as unchanging where a watch can
    vouch for it (``in_place``; see the module's docstring), else through a private copy.
    A WAL database whose writer keeps opening and closing its connection changes under
    a copy: the decision and the copy are retried until ``busy_timeout`` (then
    :class:`StoreBusyError`, exit 5), and whenever the writer's side files are back the
    file is opened in place, with no copy at all.

    ``copy_limit``: a file of more bytes than this that would need a copy is not copied
    (:class:`StoreBusyError`): Tab completion would rather offer nothing.
    """
    deadline = time.monotonic() + resolve_busy_timeout(busy_timeout)
    pause = 0.01
    quiet_waits = 0
    while True:
        _check_regular_file(path)
        header = _read_header(path)
        wal = header[18] == 2 and header[19] == 2
        # SQLite keeps the side files beside a symlink's target, not beside the link.
        real = os.path.realpath(path)
        if not wal or _usable_sidecars(real):
            return ReadOnlyTarget(path, path, wal)
        if in_place and quiet_waits < QUIET_WAITS and not _any_side_file(real):
            unchanging = _try_unchanging(path, real)
            if isinstance(unchanging, ReadOnlyTarget):
                return unchanging
            if unchanging is not None and unchanging <= _copy_seconds(real):
                quiet_waits += 1  # written moments ago: waiting is cheaper than a copy
                time.sleep(min(unchanging, max(0.0, deadline - time.monotonic())))
                continue
        if copy_limit is not None and _size(real) > copy_limit:
            raise StoreBusyError(f"{path}: not copied for a consistent read (too big here)")
        target = _try_copy(path, real)
        if target is not None:
            return target
        if time.monotonic() >= deadline:
            raise StoreBusyError(
                f"{path}: kept changing while being copied for a consistent read "
                "(a writer opening and closing it); retry"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _try_unchanging(path: str, real: str) -> ReadOnlyTarget | float | None:
    """The file as an unchanging in-place target; or seconds to wait until it has been
    quiet long enough; or None when no watch can vouch for it (copy it instead).

    The watch starts before the file is looked at, so anything after that look is seen.
    """
    from .watch import ChangeWatch  # noqa: PLC0415 - see TYPE_CHECKING above

    watch = ChangeWatch.open(real)
    if watch is None:
        return None
    try:
        info = os.stat(real)
        with open(real, "rb") as handle:
            header = handle.read(HEADER_SIZE)
    except OSError:
        watch.close()
        return 0.0
    quiet = _quiet_seconds(info)
    age = time.time() - max(info.st_mtime_ns, info.st_ctime_ns) / 1e9
    still_wal = len(header) == HEADER_SIZE and header[18] == 2 and header[19] == 2
    if not still_wal or _any_side_file(real) or age < quiet or watch.changed():
        watch.close()
        return None if age < 0 else max(0.0, quiet - age)  # a time ahead of the clock: copy
    return ReadOnlyTarget(path, real, True, watch=watch, identity=_identity(info))


def _size(real: str) -> int:
    try:
        return os.stat(real).st_size
    except OSError:
        return 0


def _copy_seconds(real: str) -> float:
    return _size(real) / COPY_BYTES_PER_SECOND


def _quiet_seconds(info: os.stat_result) -> float:
    whole_seconds = info.st_mtime_ns % 10**9 == 0 and info.st_ctime_ns % 10**9 == 0
    return COARSE_QUIET_SECONDS if whole_seconds else QUIET_SECONDS


def _identity(info: os.stat_result) -> tuple[int, ...]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _any_side_file(real: str) -> bool:
    return any(os.path.lexists(real + suffix) for suffix in SIDE_FILES)


def _usable_sidecars(real: str) -> bool:
    """``-wal`` and ``-shm`` both present, and the ``-shm`` is the database's own: a
    read-only open writes read marks into it, so one hard-linked elsewhere (or a symlink)
    would carry those writes out of the database's directory; such a file is read
    through the private copy instead."""
    if not os.path.exists(real + "-wal"):
        return False
    try:
        shm = os.lstat(real + "-shm")
    except FileNotFoundError:
        return False
    return stat.S_ISREG(shm.st_mode) and shm.st_nlink == 1


def _try_copy(path: str, real: str) -> ReadOnlyTarget | None:
    """One attempt at a consistent private copy; None when a writer changed the file
    meanwhile. A full ``$TMPDIR`` or another I/O error is :class:`StoreOpenError`."""
    from . import private_copies  # noqa: PLC0415 - see TYPE_CHECKING above

    copy_dir = private_copies.new_directory()
    try:
        copied = _stable_copy(real, copy_dir)
    except OSError as exc:
        private_copies.remove(copy_dir)
        where = os.path.dirname(copy_dir)
        raise StoreOpenError(
            f"{path}: cannot make the private copy a consistent read needs in {where} "
            f"({exc.strerror or exc}); set TMPDIR to a directory with room"
        ) from None
    except BaseException:  # interrupted mid-copy: leave no copy of the evidence behind
        private_copies.remove(copy_dir)
        raise
    if copied is None:
        private_copies.remove(copy_dir)
        return None
    copy, signature = copied
    return ReadOnlyTarget(path, copy, True, copy_dir, signature)


def _check_regular_file(path: str) -> None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise StoreOpenError(f"{path}: no such file") from None
    except PermissionError:
        raise StoreOpenError(f"{path}: permission denied") from None
    except OSError as exc:
        raise StoreOpenError(f"{path}: cannot open ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise StoreOpenError(f"{path}: is a directory, not a database file")
    if not stat.S_ISREG(info.st_mode):
        raise StoreOpenError(f"{path}: not a regular file (a FIFO or device would block)")
    if info.st_size == 0:
        raise StoreOpenError(f"{path}: empty file, not an SQLite database")


def _read_header(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            header = handle.read(HEADER_SIZE)
    except PermissionError:
        raise StoreOpenError(f"{path}: permission denied") from None
    except OSError as exc:
        raise StoreOpenError(f"{path}: cannot read ({exc.strerror})") from None
    if len(header) < HEADER_SIZE or not header.startswith(SQLITE_MAGIC):
        raise StoreOpenError(f"{path}: not an SQLite database")
    return header


def _stable_copy(path: str, copy_dir: str) -> tuple[str, tuple[tuple[int, int] | None, ...]] | None:
    """Copy the file (and a ``-wal`` without ``-shm``: its commits count); None if a
    writer changed them while we copied.

    Sizes and mtimes alone miss a checkpoint that wrote within the clock tick of the
    last one; where a watch is available, any write to the file during the copy counts.
    """
    import shutil  # noqa: PLC0415 - see TYPE_CHECKING above

    from .watch import CONTENT_EVENTS, ChangeWatch  # noqa: PLC0415

    target = os.path.join(copy_dir, "snapshot.db")
    watch = ChangeWatch.open(path, file_events=CONTENT_EVENTS, directory=False)
    try:
        before = _signature(path)
        try:
            shutil.copyfile(path, target)
            if before[1] is not None:
                shutil.copyfile(path + "-wal", target + "-wal")
        except FileNotFoundError:
            return None  # a writer checkpointed and removed the -wal meanwhile
        if _signature(path) != before or (watch is not None and watch.changed()):
            return None
        return target, before
    finally:
        if watch is not None:
            watch.close()


def _signature(path: str) -> tuple[tuple[int, int] | None, ...]:
    """Size and mtime of the file and of its ``-wal`` (None when absent)."""
    signature: list[tuple[int, int] | None] = []
    for name in (path, path + "-wal"):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            signature.append(None)
        else:
            signature.append((info.st_size, info.st_mtime_ns))
    return tuple(signature)


def _json_backslashreplace(exc: UnicodeError) -> tuple[str, int]:
    """``backslashreplace`` with the backslash itself escaped, as inside a JSON string."""
    assert isinstance(exc, UnicodeDecodeError)
    bad = exc.object[exc.start : exc.end]
    return "".join(f"\\\\x{byte:02x}" for byte in bad), exc.end


codecs.register_error("stabilize-json-backslashreplace", _json_backslashreplace)


def _decode_text(raw: bytes) -> str:
    """One invalid UTF-8 byte must not abort a whole query: keep it visible instead.

    In a JSON column (``data``) a bare ``\\xff`` is an invalid JSON escape that would make
    the whole row unreadable, so when escaping the backslash gives valid JSON, use that.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    as_json = raw.decode("utf-8", "stabilize-json-backslashreplace")
    try:
        json.loads(as_json)
    except (ValueError, RecursionError):
        return raw.decode("utf-8", "backslashreplace")
    return as_json


def open_read_only_connection(
    target: ReadOnlyTarget, busy_timeout: float | None = None
) -> sqlite3.Connection:
    # immutable=1: no locks and no side files, so nothing is created beside the file;
    # right only while it does not change, which every read's caller checks after.
    mode = "mode=ro&immutable=1" if target.is_unchanging else "mode=ro"
    with translate_errors(target.original):
        conn = sqlite3.connect(
            f"{Path(target.open_path).resolve().as_uri()}?{mode}",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=resolve_busy_timeout(busy_timeout),
            factory=AuditConnection,
        )
        conn.text_factory = _decode_text
        conn.create_function("event_instant", 1, event_instant, deterministic=True)
        conn.execute("PRAGMA query_only = 1")
        # Not trusted_schema=OFF: the engine's own file indexes json_extract() expressions,
        # and with it off SQLite rejects that schema as malformed. query_only already stops
        # triggers from firing, and an 'events' view is refused before any read.
        return conn


def require_real_events_table(conn: sqlite3.Connection, path: str) -> None:
    """A view or virtual table named ``events`` is not an event store (and may never end)."""
    with translate_errors(path):
        row = conn.execute("SELECT type, sql FROM sqlite_master WHERE name = 'events'").fetchone()
    if row is None:
        return  # require_events_table names the tables the file has instead
    kind, sql = row
    if kind != "table" or (sql or "").upper().lstrip().startswith("CREATE VIRTUAL"):
        raise SchemaError(f"{path}: 'events' is a {kind}, not a table")
