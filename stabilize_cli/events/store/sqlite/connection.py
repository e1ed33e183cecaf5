"""Opening SQLite, and the one place where sqlite3 errors become the library's errors."""

from __future__ import annotations

import math
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ...errors import (
    DuplicateEventError,
    SchemaError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreOpenError,
)
from ...timeutil import parse_timestamp

BUSY_TIMEOUT_SECONDS = 30.0
MEMORY = ":memory:"
URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Location:
    """Where a store lives: a filesystem path, or a private in-memory database."""

    path: str

    @property
    def is_memory(self) -> bool:
        return self.path == MEMORY

    def uri(self, mode: str) -> str:
        """A ``file:`` URI built from the resolved path, so ``?`` or ``#`` in names stay literal."""
        return f"{Path(self.path).resolve().as_uri()}?mode={mode}"


def parse_connection_string(connection_string: str) -> Location:
    """Accept ``sqlite:///rel.db``, ``sqlite:////abs.db``, ``sqlite:///:memory:`` or a path."""
    text = connection_string.strip()
    if text.startswith("sqlite://"):
        rest = text[len("sqlite://") :]
        if not rest.startswith("/"):
            raise StoreOpenError(f"unsupported connection string {connection_string!r}")
        text = rest[1:]
    elif URL_SCHEME.match(text):
        raise StoreOpenError(f"unsupported connection string {connection_string!r}")
    if not text:
        raise StoreOpenError("empty database path")
    # Absolute now: connections are opened per thread, later, maybe after a chdir.
    return Location(text if text == MEMORY else os.path.abspath(text))


def open_connection(
    location: Location, *, create: bool, busy_timeout: float | None = None
) -> sqlite3.Connection:
    """A connection in autocommit mode: the store issues BEGIN/COMMIT itself."""
    with translate_errors(location.path):
        if location.is_memory:
            conn = sqlite3.connect(MEMORY, isolation_level=None, check_same_thread=False)
        else:
            _check_file(location.path, create=create)
            conn = sqlite3.connect(
                location.uri("rwc" if create else "rw"),
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=resolve_busy_timeout(busy_timeout),
            )
        conn.execute("PRAGMA foreign_keys=ON")
        conn.create_function("event_instant", 1, event_instant, deterministic=True)
        return conn


MAX_BUSY_TIMEOUT_SECONDS = (2**31 - 1) / 1000
"""SQLite takes the busy timeout as an int of milliseconds: beyond this (24.8 days) the
conversion overflows and SQLite would not wait at all."""


def resolve_busy_timeout(seconds: float | None) -> float:
    """Seconds to wait for another connection's lock: the given value (clamped to what
    SQLite can wait), else the default."""
    if seconds is None:
        return BUSY_TIMEOUT_SECONDS
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"busy timeout must be a non-negative number of seconds (got {seconds})")
    return min(seconds, MAX_BUSY_TIMEOUT_SECONDS)


def event_instant(text: object) -> int | None:
    """SQL ``event_instant(timestamp)``: microseconds since the epoch, NULL if unparseable.

    ``julianday()`` keeps only milliseconds and the text does not sort across offsets.
    """
    try:
        moment = parse_timestamp(text)  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError):
        return None
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _check_file(path: str, *, create: bool) -> None:
    target = Path(path)
    if target.is_dir():
        raise StoreOpenError(f"{path}: is a directory, not a database file")
    if not create and not target.exists():
        raise StoreOpenError(f"{path}: no such database file")


@contextmanager
def translate_errors(path: str) -> Iterator[None]:
    """Turn sqlite3's exceptions into this library's, naming the database."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if "event_id" in str(exc):
            raise DuplicateEventError(f"{path}: event already stored ({exc})") from exc
        raise StoreError(f"{path}: {exc}") from exc
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if "locked" in message or "busy" in message:
            raise StoreBusyError(f"{path}: database is locked by another process") from exc
        if "no such table" in message or "no such column" in message:
            raise SchemaError(f"{path}: not a Stabilize event store ({message})") from exc
        if "readonly" in message and os.path.exists(path + "-journal"):
            raise StoreOpenError(
                f"{path}: needs crash recovery (a hot -journal is present); "
                "not opened, since recovering would write to it"
            ) from exc
        if "unable to open" in message or "readonly" in message:
            raise StoreOpenError(f"{path}: cannot open database ({message})") from exc
        raise StoreError(f"{path}: {message}") from exc
    except sqlite3.DatabaseError as exc:
        message = str(exc)
        if "not a database" in message:
            raise StoreOpenError(f"{path}: not an SQLite database") from exc
        if "malformed" in message or "corrupt" in message:
            raise StoreCorruptError(f"{path}: database is corrupt ({message})") from exc
        raise StoreError(f"{path}: {message}") from exc


def require_events_table(conn: sqlite3.Connection, path: str, columns: tuple[str, ...]) -> None:
    """Fail early, with the tables the file does have, when it is not an event store."""
    with translate_errors(path):
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name"
            )
        ]
        if "events" not in tables:
            listed = ", ".join(t for t in tables if not t.startswith("sqlite_")) or "none"
            raise SchemaError(f"{path}: no events table (tables: {listed})")
        info = conn.execute("PRAGMA table_info(events)").fetchall()
        present = {row[1] for row in info}
        missing = [c for c in columns if c not in present]
        if missing:
            raise SchemaError(f"{path}: events table lacks columns: {', '.join(missing)}")
        problem = _sequence_problem(conn, info)
    if problem:
        raise SchemaError(f"{path}: not a Stabilize event store: events.sequence {problem}")


def _sequence_problem(conn: sqlite3.Connection, info: list[tuple[object, ...]]) -> str | None:
    """Every read orders and resumes by ``sequence``: a column that repeats or holds NULL
    would silently drop or repeat rows. The engine's is ``INTEGER PRIMARY KEY``."""
    keys = [row for row in info if isinstance(row[5], int) and row[5] > 0]
    if len(keys) == 1 and keys[0][1] == "sequence" and str(keys[0][2]).upper() == "INTEGER":
        return None  # the rowid itself: unique, never NULL
    (column,) = [row for row in info if row[1] == "sequence"]
    unique = False
    for index in conn.execute("PRAGMA index_list(events)").fetchall():
        name, is_unique, partial = index[1], index[2], index[4]
        if is_unique and not partial:
            indexed = [r[2] for r in conn.execute("PRAGMA index_info(" + _quoted(name) + ")")]
            unique = unique or indexed == ["sequence"]
    if not unique:
        return "is not unique (no PRIMARY KEY or UNIQUE index on it alone)"
    if not column[3]:
        return "allows NULL"
    return None


def _quoted(name: object) -> str:
    return '"' + str(name).replace('"', '""') + '"'
