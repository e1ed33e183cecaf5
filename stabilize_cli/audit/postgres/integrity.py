"""The integrity audit's rows in PostgreSQL, shaped as the SQLite rows the checks read.

``verify`` checks rows as stored; here the columns are typed, so timestamps come as ISO
text and payloads as their JSONB text (valid JSON by construction: the checks on raw
payload text have no meaning on PostgreSQL, and find nothing). What PostgreSQL has that
SQLite has not is checked too: the commit order (``commit_xid``) against the sequence,
and xids ahead of the server's counter. Page-level integrity, SQLite's ``quick_check``,
is not something a SELECT-only role can check here: a note says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ...events.store.postgres import PostgresEventStore
from ..contracts import BackendNote, RawEvent, RawSubscription
from .catalog import rows

PAGE_SIZE = 1000
RAW_EVENTS = """
SELECT sequence, event_id, event_type, timestamp, entity_type, entity_id, workflow_id,
       version, data::text, causation_id
FROM events WHERE sequence > %s ORDER BY sequence LIMIT %s
"""
DANGLING_CAUSATIONS = """
SELECT e.sequence, e.causation_id FROM events AS e
WHERE e.causation_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM events AS c WHERE c.event_id = e.causation_id)
ORDER BY e.sequence
"""
SEQUENCE_NAME = "SELECT pg_get_serial_sequence('events', 'sequence')"
READABLE_SEQUENCE = "SELECT has_sequence_privilege(%s, 'SELECT')"
RAW_SUBSCRIPTIONS = """
SELECT id, last_sequence, event_types, entity_filter::text, webhook_url, created_at, updated_at
FROM event_subscriptions ORDER BY id COLLATE "C"
"""
COMMIT_ORDER_INVERSIONS = """
SELECT count(*), min(sequence), array_agg(sequence ORDER BY sequence) FILTER (WHERE n <= 10)
FROM (
    SELECT sequence, row_number() OVER (ORDER BY sequence) AS n
    FROM (
        SELECT sequence, commit_xid,
               max(commit_xid) OVER (ORDER BY sequence ROWS BETWEEN UNBOUNDED PRECEDING
                                     AND 1 PRECEDING) AS earlier
        FROM events WHERE commit_xid IS NOT NULL
    ) AS ordered
    WHERE commit_xid < earlier
) AS inverted
"""
NULL_COMMIT_XIDS = "SELECT count(*) FROM events WHERE commit_xid IS NULL"
NOT_CHECKED = (
    "PostgreSQL: page-level integrity (SQLite's quick_check) is not checked; "
    "run pg_amcheck (or the amcheck extension) as a role allowed to, to check "
    "tables and indexes"
)


def _text_time(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


class PostgresIntegrity:
    """Rows as stored, for ``verify``."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store

    def iter_raw_events(self) -> Iterator[RawEvent]:
        after = -(2**63)
        while True:
            page = rows(self.store, RAW_EVENTS, (after, PAGE_SIZE))
            for row in page:
                yield RawEvent._make((*row[:3], _text_time(row[3]), *row[4:]))
            if len(page) < PAGE_SIZE:
                return
            after = page[-1][0]

    def integrity_problems(self, *, full: bool = False) -> list[str]:
        """Nothing PostgreSQL reports to a reader; what is not checked is in the notes."""
        del full
        return []

    def sequence_head(self) -> tuple[int | None, int | None]:
        """(highest sequence present, highest the column's sequence issued), the second
        None when the role may not read the sequence (or it has never been used)."""
        present = rows(self.store, "SELECT MAX(sequence) FROM events")[0][0]
        name = rows(self.store, SEQUENCE_NAME)[0][0]
        issued = None
        if name is not None and rows(self.store, READABLE_SEQUENCE, (name,))[0][0]:
            issued = rows(self.store, "SELECT pg_sequence_last_value(%s::regclass)", (name,))[0][0]
        return (
            None if present is None else int(present),
            None if issued is None else int(issued),
        )

    def dangling_causations(self) -> list[tuple[int, Any]]:
        return [(int(s), c) for s, c in rows(self.store, DANGLING_CAUSATIONS)]

    def has_table(self, name: str) -> bool:
        return bool(rows(self.store, "SELECT to_regclass(%s) IS NOT NULL", (name,))[0][0])

    def raw_subscriptions(self) -> list[RawSubscription]:
        if not self.has_table("event_subscriptions"):
            return []
        return [
            RawSubscription(
                ident,
                position,
                "null" if position is None else "integer",
                None if types is None else json.dumps(types),
                entity_filter,
                webhook,
                _text_time(created),
                _text_time(updated),
            )
            for ident, position, types, entity_filter, webhook, created, updated in rows(
                self.store, RAW_SUBSCRIPTIONS
            )
        ]

    def backend_notes(self) -> list[BackendNote]:
        """What only PostgreSQL can say: commit order against sequence order, rows
        without commit_xid, xids ahead of this server, and what is not checked."""
        notes = [BackendNote("info", "not-checked", NOT_CHECKED, ())]
        problem = self.store.commit_order_problem()
        if problem is not None:
            notes.append(BackendNote("warning", "commit-order-unusable", problem, ()))
        if not self.store.supports_commit_cursor():
            return notes
        (missing,) = rows(self.store, NULL_COMMIT_XIDS)[0]
        if missing:
            notes.append(
                BackendNote(
                    "info",
                    "no-commit-xid",
                    f"{missing} events have no commit_xid (written before the engine's "
                    "migration): followers read them first, in sequence order",
                    (),
                )
            )
        count, first, listed = rows(self.store, COMMIT_ORDER_INVERSIONS)[0]
        if count:
            notes.append(
                BackendNote(
                    "info",
                    "commit-order",
                    f"{count} events committed before an event with a lower sequence "
                    f"(first at sequence {first}): a reader polling by sequence can skip "
                    "such an event; commit-ordered readers (events --follow) do not",
                    tuple(int(s) for s in listed or ()),
                )
            )
        return notes
