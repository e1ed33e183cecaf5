"""Event stores: the backend-neutral contract, and one package per backend (``sqlite``;
``postgres``).

Names are imported on first use, so that a module of one backend (Tab completion's
``sqlite.quick_reads``) can be loaded without the whole contract."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "ElidedKeyError": ".elision",
    "ElidedPayload": ".elision",
    "Elision": ".elision",
    "state_hash": ".hashing",
    "UNLIMITED": ".interface",
    "AppendResult": ".interface",
    "AuditableStore": ".interface",
    "EventQuery": ".interface",
    "EventStore": ".interface",
    "SqliteEventStore": ".sqlite",
}


def __getattr__(name: str) -> Any:
    """A contract name from its module; ``PostgresEventStore`` as the engine's
    ``stabilize.events.store`` offers it: SQLite runs never load the PostgreSQL backend."""
    if name == "PostgresEventStore":
        try:
            backend = importlib.import_module(".postgres", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.postgres":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from exc
        value = backend.PostgresEventStore
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
