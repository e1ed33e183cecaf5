"""The engine's SQLite event store: one file holding events, snapshots and subscriptions.

Mirrors ``stabilize.events.store.sqlite``; everything here speaks SQLite, nothing above
this package does. The store is imported on first use (Tab completion reads through
``quick_reads`` alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import SqliteEventStore

__all__ = ["SqliteEventStore"]


def __getattr__(name: str) -> Any:
    if name == "SqliteEventStore":
        from .store import SqliteEventStore  # noqa: PLC0415 - on first use

        globals()[name] = SqliteEventStore
        return SqliteEventStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
