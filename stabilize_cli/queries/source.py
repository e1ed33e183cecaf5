"""Opening the audited database: read-only for every command that only looks."""

from __future__ import annotations

from ..events.store import SqliteEventStore


def open_for_audit(db: str) -> SqliteEventStore:
    """The store, opened so that auditing never changes the evidence."""
    return SqliteEventStore(db, create_tables=False, read_only=True)


def open_for_writing(db: str) -> SqliteEventStore:
    """For the few commands that write (snapshots create/prune): never creates a file."""
    return SqliteEventStore(db, create_tables=False)
