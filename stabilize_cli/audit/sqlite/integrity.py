"""SQL for the integrity audit (``stabilize verify``): raw rows, never decoded events.

An audit must report the rows the codec would refuse, so everything here returns the
columns as SQLite stores them. Events are read in keyset pages ordered by sequence, each
page one short statement, so a long audit never holds a read lock a writer waits on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from ...events.store.sqlite.store import SqliteEventStore
from ..contracts import RawEvent, RawSubscription

PAGE_SIZE = 1000

RAW_EVENTS = """
SELECT sequence, event_id, event_type, timestamp, entity_type, entity_id, workflow_id,
       version, data, causation_id
FROM events WHERE sequence > ? ORDER BY sequence LIMIT ?
"""
DANGLING_CAUSATIONS = """
SELECT e.sequence, e.causation_id FROM events AS e
WHERE e.causation_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM events AS c WHERE c.event_id = e.causation_id)
ORDER BY e.sequence
"""
TABLE_EXISTS = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
# One statement, so the two numbers are consistent even while the engine appends.
SEQUENCE_HEAD = """
SELECT (SELECT MAX(sequence) FROM events),
       (SELECT seq FROM sqlite_sequence WHERE name = 'events')
"""
MAX_SEQUENCE = "SELECT MAX(sequence) FROM events"
RAW_SUBSCRIPTIONS = """
SELECT id, last_sequence, typeof(last_sequence), event_types, entity_filter, webhook_url,
       created_at, updated_at
FROM event_subscriptions ORDER BY id
"""


def iter_raw_events(store: SqliteEventStore, page_size: int = PAGE_SIZE) -> Iterator[RawEvent]:
    """Every event row in sequence order, one short read per page."""
    after = -(2**63)
    while True:
        rows = store.fetch_all(RAW_EVENTS, (after, page_size))
        for row in rows:
            yield RawEvent(*row)
        if len(rows) < page_size:
            return
        after = rows[-1][0]


DAMAGED_PAGES = """
SELECT name, group_concat(pageno, ', ') FROM dbstat WHERE pagetype = 'corrupted'
GROUP BY name ORDER BY name
"""
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB (primary codes)


def integrity_problems(store: SqliteEventStore, *, full: bool = False) -> list[str]:
    """SQLite's own check (``quick_check``, or ``integrity_check`` when full); [] when ok.

    On some damaged pages the check itself stops with "malformed" and says nothing more:
    the problem is then that, and which tables and indexes have pages SQLite's page map
    (``dbstat``) calls corrupted, so the audit names what cannot be read."""
    pragma = "PRAGMA integrity_check" if full else "PRAGMA quick_check"

    def check(conn: sqlite3.Connection) -> list[str]:
        try:
            return [str(row[0]) for row in conn.execute(pragma)]
        except sqlite3.DatabaseError as error:
            if getattr(error, "sqlite_errorcode", 0) & 0xFF not in _CORRUPT_CODES:
                raise
            return [f"the check stopped: {error}", *_damaged_pages(conn)]

    lines = store.read(check)
    return [] if lines == ["ok"] else lines


def _damaged_pages(conn: sqlite3.Connection) -> list[str]:
    """``damaged pages of stage_executions: 58``, per table or index (none where SQLite
    was built without ``dbstat``, or where the page map itself cannot be read)."""
    try:
        rows = conn.execute(DAMAGED_PAGES).fetchall()
    except sqlite3.DatabaseError:
        return []
    return [
        f"damaged page{'s' if ',' in str(pages) else ''} of {name}: {pages}" for name, pages in rows
    ]


def sequence_head(store: SqliteEventStore) -> tuple[int | None, int | None]:
    """(highest sequence present, highest sequence ever issued by AUTOINCREMENT)."""

    def head(conn: sqlite3.Connection) -> tuple[int | None, int | None]:
        if not _has_table(conn, "sqlite_sequence"):
            return _int_or_none(conn.execute(MAX_SEQUENCE).fetchone()[0]), None
        present, issued = conn.execute(SEQUENCE_HEAD).fetchone()
        return _int_or_none(present), _int_or_none(issued)

    return store.read(head)


def dangling_causations(store: SqliteEventStore) -> list[tuple[int, Any]]:
    """(sequence, causation_id) of events whose cause is no stored event (index lookups)."""
    return store.read(lambda conn: [(int(s), c) for s, c in conn.execute(DANGLING_CAUSATIONS)])


def has_table(store: SqliteEventStore, name: str) -> bool:
    return store.read(lambda conn: _has_table(conn, name))


def raw_subscriptions(store: SqliteEventStore) -> list[RawSubscription]:
    """Subscription rows undecoded (a bad JSON filter is shown, not fatal); [] without table."""

    def rows(conn: sqlite3.Connection) -> list[RawSubscription]:
        if not _has_table(conn, "event_subscriptions"):
            return []
        return [RawSubscription(*row) for row in conn.execute(RAW_SUBSCRIPTIONS)]

    return store.read(rows)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute(TABLE_EXISTS, (name,)).fetchone() is not None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None
