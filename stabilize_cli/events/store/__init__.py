"""Event stores: the contract and its SQLite implementation."""

from .interface import UNLIMITED, AppendResult, EventQuery, EventStore
from .side_tables import state_hash
from .sqlite import SqliteEventStore

__all__ = [
    "UNLIMITED",
    "AppendResult",
    "EventQuery",
    "EventStore",
    "SqliteEventStore",
    "state_hash",
]
