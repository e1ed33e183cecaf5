"""Event stores: the backend-neutral contract, and one package per backend (``sqlite``;
``postgres``)."""

import importlib
from typing import Any

from .elision import ElidedKeyError, ElidedPayload, Elision
from .hashing import state_hash
from .interface import UNLIMITED, AppendResult, AuditableStore, EventQuery, EventStore
from .sqlite import SqliteEventStore

__all__ = [
    "UNLIMITED",
    "AppendResult",
    "AuditableStore",
    "ElidedKeyError",
    "ElidedPayload",
    "Elision",
    "EventQuery",
    "EventStore",
    "SqliteEventStore",
    "state_hash",
]


def __getattr__(name: str) -> Any:
    """``PostgresEventStore``, offered here as the engine's ``stabilize.events.store``
    offers it, imported on first use: SQLite runs never load the PostgreSQL backend."""
    if name == "PostgresEventStore":
        try:
            backend = importlib.import_module(".postgres", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.postgres":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from exc
        value = backend.PostgresEventStore
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
