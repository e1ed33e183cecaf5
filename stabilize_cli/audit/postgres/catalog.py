"""Which workflows exist and how each ended, in PostgreSQL's dialect (``FILTER``, JSONB).

Same questions and the same status rules as the SQLite catalog; payloads arrive as
JSONB values (dicts), timestamps as aware datetimes shown in their ISO form.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ...events.store.postgres import PostgresEventStore
from ..contracts import WorkflowSummary
from ..lifecycle import status_after

_LIFECYCLE = (
    "workflow.started",
    "workflow.completed",
    "workflow.failed",
    "workflow.canceled",
    "workflow.paused",
    "workflow.resumed",
)
_TERMINAL = ("workflow.completed", "workflow.failed", "workflow.canceled")
_IN_LIFECYCLE = ", ".join(f"'{t}'" for t in _LIFECYCLE)
_IN_TERMINAL = ", ".join(f"'{t}'" for t in _TERMINAL)
_STAGE_ENDS = ("stage.completed", "stage.failed", "stage.canceled", "stage.skipped")
_IN_ENDS = ", ".join(f"'{t}'" for t in _STAGE_ENDS)
# As on SQLite: a stage that failed and ran again after a restart counts by its last end
# only; a workflow that ended more than once was restarted.

_PER_WORKFLOW = f"""
    SELECT workflow_id,
           COUNT(*) AS event_count,
           MIN(sequence) AS first_sequence,
           MAX(sequence) AS last_sequence,
           MAX(sequence) FILTER (WHERE event_type = 'workflow.created') AS created_seq,
           MAX(sequence) FILTER (WHERE event_type = 'workflow.started') AS started_seq,
           MAX(sequence) FILTER (WHERE entity_type = 'workflow'
                                   AND event_type IN ({_IN_LIFECYCLE})) AS status_seq,
           MAX(sequence) FILTER (WHERE event_type IN ({_IN_TERMINAL})) AS end_seq,
           SUM(CASE WHEN event_type = 'stage.failed' AND NOT EXISTS (
                   SELECT 1 FROM events AS later
                   WHERE later.entity_type = 'stage' AND later.entity_id = events.entity_id
                     AND later.sequence > events.sequence AND later.event_type IN ({_IN_ENDS}))
               THEN 1 ELSE 0 END) AS failed_stages,
           COUNT(*) FILTER (WHERE event_type IN ({_IN_TERMINAL})) AS ends
    FROM events {{where}}
    GROUP BY workflow_id
"""
_SUMMARIES = """
WITH per_workflow AS ({per_workflow})
SELECT w.workflow_id, w.event_count, w.first_sequence, w.last_sequence, w.failed_stages,
       created.data, started.timestamp, status.event_type, status.data, ended.timestamp, w.ends
FROM per_workflow AS w
LEFT JOIN events AS created ON created.sequence = w.created_seq
LEFT JOIN events AS started ON started.sequence = w.started_seq
LEFT JOIN events AS status ON status.sequence = w.status_seq
LEFT JOIN events AS ended ON ended.sequence = w.end_seq
ORDER BY w.first_sequence DESC
"""
WORKFLOW_SUMMARIES = _SUMMARIES.format(per_workflow=_PER_WORKFLOW.format(where=""))
SUMMARIES_OF = _SUMMARIES.format(
    per_workflow=_PER_WORKFLOW.format(where="WHERE workflow_id = ANY(%s)")
)
LATEST_CREATED = """
SELECT workflow_id FROM events WHERE event_type = 'workflow.created'
ORDER BY sequence DESC LIMIT 1
"""
LATEST_ANY = "SELECT workflow_id FROM events ORDER BY sequence DESC LIMIT 1"
LATEST_FAILED = f"""
SELECT workflow_id FROM events AS e
WHERE (event_type = 'workflow.failed'
       OR (event_type = 'workflow.completed'
           AND data->>'status' IN ('TERMINAL', 'FAILED_CONTINUE', 'STOPPED')))
  AND NOT EXISTS (SELECT 1 FROM events AS later
                  WHERE later.workflow_id = e.workflow_id AND later.sequence > e.sequence
                    AND later.event_type IN ({_IN_TERMINAL}))
ORDER BY sequence DESC LIMIT 1
"""
WORKFLOW_EXISTS = "SELECT 1 FROM events WHERE workflow_id = %s LIMIT 1"
WORKFLOW_PREFIX = """
SELECT DISTINCT workflow_id COLLATE "C" FROM events
WHERE starts_with(workflow_id, %s) ORDER BY 1 LIMIT %s
"""
ENTITY_TYPES = "SELECT DISTINCT entity_type FROM events WHERE entity_id = %s"
WORKFLOW_SEQUENCES = (
    "SELECT sequence FROM events WHERE workflow_id = %s AND sequence > %s ORDER BY sequence"
)
WALK = (
    "SELECT sequence, workflow_id FROM events WHERE sequence < %s ORDER BY sequence DESC LIMIT %s"
)
FIRSTS_OF = (
    "SELECT workflow_id, MIN(sequence) FROM events WHERE workflow_id = ANY(%s) GROUP BY workflow_id"
)
"""Each new workflow's first sequence, a page of them in one statement (index seeks)."""
CREATED = (
    "SELECT workflow_id, data->'application' FROM events "
    "WHERE event_type = 'workflow.created' ORDER BY sequence"
)
WALK_PAGE = 2000
LAZY_LIMIT = 5000


def _time(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def summary(row: tuple[Any, ...]) -> WorkflowSummary:
    wf, count, first, last, failed, created, started, status_type, status_data, ended, ends = row
    payload = created if isinstance(created, dict) else {}
    return WorkflowSummary(
        workflow_id=wf,
        application=payload.get("application"),
        name=payload.get("name"),
        status=status_after(status_type, status_data if isinstance(status_data, dict) else None),
        start_time=_time(started),
        end_time=_time(ended),
        event_count=int(count),
        failed_stages=int(failed or 0),
        first_sequence=int(first),
        last_sequence=int(last),
        restarts=max(0, int(ends or 0) - 1),
    )


def rows(store: PostgresEventStore, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with store.reading() as conn:
        return conn.execute(sql, params).fetchall()


class PostgresCatalog:
    """Read-only questions over every workflow in a store."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store

    def summaries(self) -> list[WorkflowSummary]:
        return [summary(row) for row in rows(self.store, WORKFLOW_SUMMARIES)]

    def exists(self, workflow_id: str) -> bool:
        return bool(rows(self.store, WORKFLOW_EXISTS, (workflow_id,)))

    def with_prefix(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids starting with ``prefix`` (``starts_with``: ``%`` and ``_`` stay literal)."""
        return [r[0] for r in rows(self.store, WORKFLOW_PREFIX, (prefix, limit))]

    def latest(self, *, failed: bool = False) -> str | None:
        for sql in (LATEST_FAILED,) if failed else (LATEST_CREATED, LATEST_ANY):
            found = rows(self.store, sql)
            if found:
                return str(found[0][0])
        return None

    def entity_types(self, entity_id: str) -> list[str]:
        return sorted(r[0] for r in rows(self.store, ENTITY_TYPES, (entity_id,)))

    def sequences_of(self, workflow_id: str, after: int = 0) -> list[int]:
        return [r[0] for r in rows(self.store, WORKFLOW_SEQUENCES, (workflow_id, after))]


class PostgresNewest:
    """Newest workflows first by walking the primary key backwards (see audit/sqlite)."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store

    def summaries_of(self, workflow_ids: list[str]) -> list[WorkflowSummary]:
        return [summary(row) for row in rows(self.store, SUMMARIES_OF, (list(workflow_ids),))]

    def newest_first(self, batch: int = 50) -> Iterator[WorkflowSummary]:
        yielded: set[str] = set()
        for ids in self._newest_ids(batch):
            for found in self.summaries_of(ids):
                yielded.add(found.workflow_id)
                yield found
            if len(yielded) >= LAZY_LIMIT:
                break
        else:
            return
        for found in PostgresCatalog(self.store).summaries():
            if found.workflow_id not in yielded:
                yield found

    def _newest_ids(self, batch: int) -> Iterator[list[str]]:
        """Ids by first sequence, descending: a workflow not met yet while walking down
        has all its events below the walk, so its first sequence is lower still."""
        seen: set[str] = set()
        heap: list[tuple[int, str]] = []
        cursor = 2**63 - 1
        while True:
            page = rows(self.store, WALK, (cursor, WALK_PAGE))
            new = list(dict.fromkeys(wf for _seq, wf in page if wf not in seen))
            seen.update(new)
            if new:
                for workflow_id, first in rows(self.store, FIRSTS_OF, (new,)):
                    heapq.heappush(heap, (-int(first), workflow_id))
            cursor = int(page[-1][0]) if page else -(2**63)
            ready: list[str] = []
            while heap and -heap[0][0] >= cursor:
                ready.append(heapq.heappop(heap)[1])
            for start in range(0, len(ready), batch):
                yield ready[start : start + batch]
            if not page:
                return

    def workflows_of_application(self, application: str) -> frozenset[str]:
        latest: dict[str, object] = {}
        for workflow_id, value in rows(self.store, CREATED):
            latest[workflow_id] = value
        return frozenset(wf for wf, value in latest.items() if value == application)
