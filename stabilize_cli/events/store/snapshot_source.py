"""Which snapshot store a replay may start from: the ``snapshots`` table, when the file has one.

A read-only audit never creates the table; a store written by an engine that predates
snapshots simply has none, and every replay then starts from the first event.
"""

from __future__ import annotations

from ..snapshots import SnapshotStore
from .sqlite import SqliteEventStore

HAS_SNAPSHOTS = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'snapshots'"


def snapshots_of(store: SqliteEventStore) -> SnapshotStore | None:
    """The store's snapshots (each verified against its ``state_hash`` before use)."""
    with store.reading() as conn:
        present = conn.execute(HAS_SNAPSHOTS).fetchone() is not None
    return SnapshotStore(store) if present else None
