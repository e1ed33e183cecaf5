"""Opening the audited database: read-only for every command that only looks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..events.store import SqliteEventStore
from ..events.store.raw import ReadNotes
from ..redaction import Redactor
from .redacting import EventRedaction

_busy_timeout: float | None = None
"""Seconds every store opened here waits for a lock; set per command by the CLI."""


@contextmanager
def busy_timeout(seconds: float | None) -> Iterator[None]:
    """Stores opened inside wait ``seconds`` for a lock (None: the library's default)."""
    global _busy_timeout  # noqa: PLW0603 - decided once at the CLI edge, for one command
    previous, _busy_timeout = _busy_timeout, seconds
    try:
        yield
    finally:
        _busy_timeout = previous


def open_for_audit(
    db: str, redactor: Redactor | None = None, *, notes: ReadNotes | None = None
) -> SqliteEventStore:
    """The store, opened so that auditing never changes the evidence.

    Every event read from it is redacted by ``redactor`` (None: a fresh one, so a caller
    that forgets to pass the command's still hides secrets; a disabled one: as stored).
    With ``notes``, an unreadable row is left out of event reads and noted there.
    """
    store = SqliteEventStore(
        db, create_tables=False, read_only=True, busy_timeout=_busy_timeout, notes=notes
    )
    redactor = Redactor() if redactor is None else redactor
    if redactor.enabled:
        redaction = EventRedaction(store, redactor)
        store.event_filter, store.unreadable_filter = redaction, redaction.unreadable
        store.snapshot_filter = redaction.snapshot_row
    return store


def open_for_writing(db: str) -> SqliteEventStore:
    """For the few commands that write (snapshots create/prune): never creates a file."""
    return SqliteEventStore(db, create_tables=False, busy_timeout=_busy_timeout)
