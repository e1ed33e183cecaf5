"""The engine's PostgreSQL event store (psycopg 3, the ``postgres`` extra).

Importing this package does not import psycopg: the driver loads when the first
session opens, so a missing extra is one clear error, not an ImportError.
"""

from .commit_order import CommitCursor, FeedPage, FeedPosition
from .dsn import is_postgres_dsn, redact_dsn
from .store import PostgresEventStore

__all__ = [
    "CommitCursor",
    "FeedPage",
    "FeedPosition",
    "PostgresEventStore",
    "is_postgres_dsn",
    "redact_dsn",
]
