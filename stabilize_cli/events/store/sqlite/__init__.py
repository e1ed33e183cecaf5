"""The engine's SQLite event store: one file holding events, snapshots and subscriptions.

Mirrors ``stabilize.events.store.sqlite``; everything here speaks SQLite, nothing above
this package does.
"""

from .store import SqliteEventStore

__all__ = ["SqliteEventStore"]
