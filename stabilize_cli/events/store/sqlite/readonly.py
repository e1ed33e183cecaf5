"""Opening a database for audit so that not one byte of it, or of its side files, changes.

Facts that shape this (../shared/reliability-matrix.md, RO): ``sqlite3.connect`` creates a
missing file; ``mode=ro`` on a WAL database whose ``-wal``/``-shm`` are absent creates them
and leaves them behind; ``immutable=1`` gives wrong answers on a live file. So: check the
file first, open ``mode=ro``, and read a private copy where opening would create files.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from ...errors import SchemaError, StoreOpenError
from .connection import event_instant, resolve_busy_timeout, translate_errors

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
COPY_ATTEMPTS = 3


@dataclass(frozen=True)
class ReadOnlyTarget:
    """The file a read-only store opens: the database itself, or a private snapshot copy."""

    original: str
    open_path: str
    wal: bool
    copy_dir: str | None = None
    copied_from: tuple[tuple[int, int] | None, ...] = ()
    """Size and mtime of the source (and its -wal) when the copy was taken."""

    @property
    def is_copy(self) -> bool:
        return self.copy_dir is not None

    def stale(self) -> bool:
        """Whether the source has changed since the private copy was taken."""
        return self.is_copy and _signature(os.path.realpath(self.original)) != self.copied_from

    def cleanup(self) -> None:
        if self.copy_dir is not None:
            shutil.rmtree(self.copy_dir, ignore_errors=True)


def prepare_read_only(path: str) -> ReadOnlyTarget:
    """Check the file and decide how to open it without writing anything."""
    _check_regular_file(path)
    header = _read_header(path)
    wal = header[18] == 2 and header[19] == 2
    # SQLite keeps the side files beside a symlink's target, not beside the link.
    real = os.path.realpath(path)
    sidecars = all(os.path.exists(real + suffix) for suffix in ("-wal", "-shm"))
    if wal and not sidecars:
        import tempfile  # noqa: PLC0415 - 3 ms at import, needed only for this rare case

        copy_dir = tempfile.mkdtemp(prefix="stabilize-audit-")
        try:
            copy, signature = _stable_copy(real, copy_dir)
        except BaseException:  # interrupted mid-copy: leave no copy of the evidence behind
            shutil.rmtree(copy_dir, ignore_errors=True)
            raise
        return ReadOnlyTarget(path, copy, wal, copy_dir, signature)
    return ReadOnlyTarget(path, path, wal)


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


def _stable_copy(path: str, copy_dir: str) -> tuple[str, tuple[tuple[int, int] | None, ...]]:
    """Copy the file (and a ``-wal`` without ``-shm``: its commits count), retrying if a
    writer changed them while we copied."""
    target = os.path.join(copy_dir, "snapshot.db")
    for _ in range(COPY_ATTEMPTS):
        before = _signature(path)
        try:
            shutil.copyfile(path, target)
            if before[1] is not None:
                shutil.copyfile(path + "-wal", target + "-wal")
            elif os.path.exists(target + "-wal"):
                os.remove(target + "-wal")  # left by an earlier attempt: no longer true
        except FileNotFoundError:
            continue  # a writer checkpointed and removed the -wal meanwhile: start again
        if _signature(path) == before:
            return target, before
    shutil.rmtree(copy_dir, ignore_errors=True)
    raise StoreOpenError(f"{path}: kept changing while being copied for a consistent read")


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
    with translate_errors(target.original):
        conn = sqlite3.connect(
            f"{Path(target.open_path).resolve().as_uri()}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=resolve_busy_timeout(busy_timeout),
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
