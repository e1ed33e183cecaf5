"""Event stores: the backend-neutral contract, and one package per backend (``sqlite``;
``postgres``)."""

from .hashing import state_hash
from .interface import UNLIMITED, AppendResult, AuditableStore, EventQuery, EventStore
from .sqlite import SqliteEventStore

__all__ = [
    "UNLIMITED",
    "AppendResult",
    "AuditableStore",
    "EventQuery",
    "EventStore",
    "SqliteEventStore",
    "state_hash",
]
