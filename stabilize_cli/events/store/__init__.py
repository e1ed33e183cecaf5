"""Event stores: the contract and its SQLite implementation."""

from .interface import UNLIMITED, AppendResult, EventQuery, EventStore
from .sqlite import SqliteEventStore, state_hash

__all__ = [
    "UNLIMITED",
    "AppendResult",
    "EventQuery",
    "EventStore",
    "SqliteEventStore",
    "state_hash",
]
