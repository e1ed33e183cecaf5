"""The engine's PostgreSQL event store (psycopg 3, the ``postgres`` extra).

Importing this package imports neither psycopg nor the store: the CLI reads ``.dsn`` on
every run to tell a server from a file, so the names below load on first use, and the
driver when the first session opens (a missing extra is one clear error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from .commit_order import CommitCursor, FeedPage, FeedPosition
    from .dsn import is_postgres_dsn, redact_dsn
    from .store import PostgresEventStore

_HOME = {
    "CommitCursor": ".commit_order",
    "FeedPage": ".commit_order",
    "FeedPosition": ".commit_order",
    "PostgresEventStore": ".store",
    "is_postgres_dsn": ".dsn",
    "redact_dsn": ".dsn",
}

__getattr__ = lazy_getattr(__name__, _HOME, globals())

__all__ = [
    "CommitCursor",
    "FeedPage",
    "FeedPosition",
    "PostgresEventStore",
    "is_postgres_dsn",
    "redact_dsn",
]
