"""The library's own exceptions.

Callers (the CLI above all) map these to messages and exit codes; nothing in the
library lets a raw ``sqlite3`` or ``psycopg`` error escape, so that mapping lives in one place.
"""

from __future__ import annotations


class EventSourcingError(Exception):
    """Base of every error this library raises on purpose."""


class StoreError(EventSourcingError):
    """The event store could not do what was asked."""


class StoreOpenError(StoreError):
    """The database cannot be opened: missing, a directory, not SQLite, no permission."""


class SchemaError(StoreError):
    """The file is SQLite but not an event store (no ``events`` table, missing columns)."""


class StoreCorruptError(StoreError):
    """SQLite reports the file as malformed."""


class DamageSkippedError(StoreCorruptError):
    """Raised at the end of a stream that went past damaged pages: every readable row was
    given before it, so a caller that notes the damage may treat the stream as ended."""

    def __init__(self, message: str, ranges: list[tuple[int, int | None]]) -> None:
        super().__init__(message)
        self.ranges = ranges
        """The sequences left out: (first, last; None: every later one)."""


class StoreBusyError(StoreError):
    """Another connection held a lock for longer than the busy timeout."""


class StoreConnectionLostError(StoreError):
    """The database server went away during a command: what was read so far is partial."""


class DuplicateEventError(StoreError):
    """An event with the same ``event_id`` is already stored."""


class EventDecodeError(EventSourcingError):
    """A stored row cannot be turned into an :class:`Event` (bad JSON, bad timestamp)."""

    def __init__(self, sequence: int | None, column: str, raw: object, reason: str) -> None:
        self.sequence = sequence
        self.column = column
        self.raw = raw
        self.reason = reason
        where = f"event {sequence}" if sequence is not None else "event"
        super().__init__(f"{where}: unreadable {column}: {reason}")


class SnapshotIntegrityError(EventSourcingError):
    """A snapshot's state does not match its stored ``state_hash``."""


class SubscriptionError(EventSourcingError):
    """A durable subscription is missing, misconfigured or cannot deliver."""
