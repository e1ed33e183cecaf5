"""Questions about the whole store that the engine's API does not ask: which workflows
exist, how each ended. Answered in SQL so that listing needs no replay of every event.
"""

from __future__ import annotations

import json
from typing import Any

from ...events.store.sqlite.quick_reads import WORKFLOW_PREFIX, prefix_range
from ...events.store.sqlite.store import SqliteEventStore
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
WORKFLOW_LIFECYCLE = frozenset(_LIFECYCLE)
TERMINAL = frozenset(_TERMINAL)
STAGE_ENDS = frozenset(("stage.completed", "stage.failed", "stage.canceled", "stage.skipped"))
_IN_LIFECYCLE = ", ".join(f"'{t}'" for t in _LIFECYCLE)
_IN_TERMINAL = ", ".join(f"'{t}'" for t in _TERMINAL)
_STAGE_ENDS = ("stage.completed", "stage.failed", "stage.canceled", "stage.skipped")
_IN_ENDS = ", ".join(f"'{t}'" for t in _STAGE_ENDS)
# A stage that failed and ran again after a restart (no event marks one) counts by its
# last end only; a workflow that ended more than once was restarted.

WORKFLOW_SEQUENCES = (
    "SELECT sequence FROM events WHERE workflow_id = ? AND sequence > ? ORDER BY sequence"
)

_SUMMARIES = f"""
WITH per_workflow AS (
    SELECT workflow_id,
           COUNT(*) AS event_count,
           MIN(sequence) AS first_sequence,
           MAX(sequence) AS last_sequence,
           MAX(CASE WHEN event_type = 'workflow.created' THEN sequence END) AS created_seq,
           MAX(CASE WHEN event_type = 'workflow.started' THEN sequence END) AS started_seq,
           MAX(CASE WHEN entity_type = 'workflow' AND event_type IN ({_IN_LIFECYCLE})
                    THEN sequence END) AS status_seq,
           MAX(CASE WHEN event_type IN ({_IN_TERMINAL}) THEN sequence END) AS end_seq,
           SUM(CASE WHEN event_type = 'stage.failed' THEN NOT EXISTS (
                   SELECT 1 FROM events AS later
                   WHERE later.entity_type = 'stage' AND later.entity_id = events.entity_id
                     AND later.sequence > events.sequence
                     AND later.event_type IN ({_IN_ENDS}){{later_within}})
               ELSE 0 END) AS failed_stages,
           SUM(event_type IN ({_IN_TERMINAL})) AS ends
    FROM events{{rows}}
    GROUP BY workflow_id
)
SELECT w.workflow_id, w.event_count, w.first_sequence, w.last_sequence, w.failed_stages,
       created.data, started.timestamp, status.event_type, status.data, ended.timestamp, w.ends
FROM per_workflow AS w
LEFT JOIN events AS created ON created.sequence = w.created_seq
LEFT JOIN events AS started ON started.sequence = w.started_seq
LEFT JOIN events AS status ON status.sequence = w.status_seq
LEFT JOIN events AS ended ON ended.sequence = w.end_seq
ORDER BY w.first_sequence DESC
"""


def summaries_sql(rows: str = "", later_within: str = "") -> str:
    """``WORKFLOW_SUMMARIES`` over some of the rows, by one set of rules: ``rows`` a
    ``WHERE`` for the events aggregated, ``later_within`` an `` AND`` on the later stage
    ends looked up (a damaged store: both keep to the readable ranges)."""
    return _SUMMARIES.format(rows=rows, later_within=later_within)


WORKFLOW_SUMMARIES = summaries_sql()

LATEST_CREATED = """
SELECT workflow_id FROM events WHERE event_type = 'workflow.created'
ORDER BY sequence DESC LIMIT 1
"""
LATEST_ANY = "SELECT workflow_id FROM events ORDER BY sequence DESC LIMIT 1"
LATEST_FAILED = f"""
SELECT workflow_id FROM events AS e
WHERE (event_type = 'workflow.failed'
       OR (event_type = 'workflow.completed' AND json_valid(data)
           AND json_extract(data, '$.status') IN ('TERMINAL', 'FAILED_CONTINUE', 'STOPPED')))
  AND NOT EXISTS (SELECT 1 FROM events AS later
                  WHERE later.workflow_id = e.workflow_id AND later.sequence > e.sequence
                    AND later.event_type IN ({_IN_TERMINAL}))
ORDER BY sequence DESC LIMIT 1
"""
WORKFLOW_EXISTS = "SELECT 1 FROM events WHERE workflow_id = ? LIMIT 1"
ENTITY_TYPES = "SELECT DISTINCT entity_type FROM events WHERE entity_id = ?"


def _payload(raw: object) -> dict[str, Any]:
    """The JSON object stored; ``{}`` when it is not one (see :func:`_object_or_none`)."""
    return _object_or_none(raw) or {}


def _object_or_none(raw: object) -> dict[str, Any] | None:
    """The JSON object stored, or None when it is not one."""
    if not isinstance(raw, str):
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def summary_of_row(row: tuple[Any, ...]) -> WorkflowSummary:
    """A row of :func:`summaries_sql` as the summary it stands for."""
    wf, count, first, last, failed, created, started, status_type, status_data, ended, ends = row
    return WorkflowSummary(
        workflow_id=wf,
        application=_payload(created).get("application"),
        name=_payload(created).get("name"),
        status=status_after(status_type, _object_or_none(status_data)),
        start_time=started,
        end_time=ended,
        event_count=count,
        failed_stages=int(failed or 0),
        first_sequence=first,
        last_sequence=last,
        restarts=max(0, int(ends or 0) - 1),
    )


class WorkflowCatalog:
    """Read-only questions over every workflow in a store."""

    def __init__(self, store: SqliteEventStore) -> None:
        self.store = store

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.store.read(lambda conn: conn.execute(sql, params).fetchall())

    def summaries(self) -> list[WorkflowSummary]:
        """Every workflow, newest first."""
        return [summary_of_row(row) for row in self._rows(WORKFLOW_SUMMARIES)]

    def exists(self, workflow_id: str) -> bool:
        return bool(self._rows(WORKFLOW_EXISTS, (workflow_id,)))

    def with_prefix(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids starting with ``prefix`` (the query Tab completion makes, ``quick_reads``)."""
        return [r[0] for r in self._rows(WORKFLOW_PREFIX, (*prefix_range(prefix), limit))]

    def latest(self, *, failed: bool = False) -> str | None:
        queries = (LATEST_FAILED,) if failed else (LATEST_CREATED, LATEST_ANY)
        for sql in queries:
            rows = self._rows(sql)
            if rows:
                return str(rows[0][0])
        return None

    def entity_types(self, entity_id: str) -> list[str]:
        return sorted((r[0] for r in self._rows(ENTITY_TYPES, (entity_id,))), key=str)

    def sequences_of(self, workflow_id: str, after: int = 0) -> list[int]:
        """From the ``(workflow_id, sequence)`` index alone: no event is decoded."""
        return [r[0] for r in self._rows(WORKFLOW_SEQUENCES, (workflow_id, after))]
