"""The newest workflows first, without aggregating every workflow in the store.

:meth:`WorkflowCatalog.summaries` groups all 1.4 million events of a big store by
workflow before the first row can be shown. A listing's first page needs a few dozen:
walking the events backwards from the last sequence (the rowid: no sort) finds the
workflows in order of their first event, because a workflow not met yet has every event
below the walk's position, so its first sequence is lower than any already confirmed.
Each candidate's first sequence is one seek in ``idx_events_workflow``; only the chosen
ones are aggregated, with the catalog's own query and rules.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from ...events.errors import StoreCorruptError
from ...events.store.sqlite.store import SqliteEventStore
from ..contracts import WorkflowSummary
from .catalog import WorkflowCatalog, _payload, summaries_sql, summary_of_row
from .metrics_sql import readable_within

SUMMARIES_OF = summaries_sql(" WHERE workflow_id IN ({marks})")
WALK = "SELECT sequence, workflow_id FROM events WHERE sequence < ? ORDER BY sequence DESC LIMIT ?"
FIRST_OF = "SELECT MIN(sequence) FROM events WHERE workflow_id = ?"
CREATED = "SELECT workflow_id, data FROM events WHERE event_type = 'workflow.created'"
WALK_PAGE = 2000
LAZY_LIMIT = 5000
"""After this many workflows (a filter that admits few), aggregate the rest in one query."""


class _Unsure(Exception):
    """The walk met something it cannot order exactly: leave it to the catalog."""


def _rows(store: SqliteEventStore, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return store.read(lambda conn: conn.execute(sql, params).fetchall())


def summaries_of(store: SqliteEventStore, workflow_ids: list[str]) -> list[WorkflowSummary]:
    """The catalog's summaries of these workflows, newest first."""
    marks = ", ".join("?" for _ in workflow_ids)  # ids as stored: a BLOB id stays a BLOB
    sql = SUMMARIES_OF.replace("{marks}", marks)
    return [summary_of_row(row) for row in _rows(store, sql, tuple(workflow_ids))]


def newest_first(store: SqliteEventStore, batch: int = 50) -> Iterator[WorkflowSummary]:
    """Every workflow, newest (highest first sequence) first, as ``summaries()`` orders
    them; lazily, so a first page costs a page.

    A damaged page fails the SQL that meets it: a store opened with notes then goes on
    with the summaries its readable rows give (:func:`readable_summaries`)."""
    yielded: set[str] = set()
    try:
        yield from _newest_first(store, batch, yielded)
    except StoreCorruptError:
        if store.notes is None:
            raise
        for summary in readable_summaries(store):
            if summary.workflow_id not in yielded:
                yield summary


def _newest_first(
    store: SqliteEventStore, batch: int, yielded: set[str]
) -> Iterator[WorkflowSummary]:
    try:
        for ids in _newest_ids(store, batch):
            for summary in summaries_of(store, ids):
                yielded.add(summary.workflow_id)
                yield summary
            if len(yielded) >= LAZY_LIMIT:
                break
        else:
            return
    except _Unsure:
        pass  # the rest, in the same order, from the whole-store query
    for summary in WorkflowCatalog(store).summaries():
        if summary.workflow_id not in yielded:
            yield summary


def _newest_ids(store: SqliteEventStore, batch: int) -> Iterator[list[str]]:
    """Workflow ids by first sequence, descending, ``batch`` (or more) at a time."""
    seen: set[str] = set()
    heap: list[tuple[int, str]] = []  # (-first sequence, id): a max-heap
    cursor = 2**63 - 1
    while True:
        page = _rows(store, WALK, (cursor, WALK_PAGE))
        for _seq, workflow_id in page:
            if workflow_id not in seen:
                seen.add(workflow_id)
                first = _rows(store, FIRST_OF, (workflow_id,))[0][0]
                if not isinstance(first, int):
                    raise _Unsure(workflow_id)  # an id that does not find its own rows
                heapq.heappush(heap, (-int(first), workflow_id))
        cursor = int(page[-1][0]) if page else -(2**63)
        ready: list[str] = []
        while heap and -heap[0][0] >= cursor:
            ready.append(heapq.heappop(heap)[1])
        for start in range(0, len(ready), batch):
            yield ready[start : start + batch]
        if not page:
            return


def workflows_of_application(store: SqliteEventStore, application: str) -> frozenset[str]:
    """Workflows whose last ``workflow.created`` names this application, as the catalog
    reads it, without aggregating every workflow (past damaged pages in an audit)."""
    latest: dict[str, object] = {}
    try:
        created = _rows(store, f"{CREATED} ORDER BY sequence", ())
    except StoreCorruptError:
        if store.notes is None:
            raise
        rows = store.readable_rows("sequence, event_type, workflow_id, data")
        created = [(wf, data) for _, kind, wf, data in rows if kind == "workflow.created"]
    for workflow_id, data in created:
        latest[workflow_id] = data
    return frozenset(
        wf for wf, data in latest.items() if _payload(data).get("application") == application
    )


def readable_summaries(store: SqliteEventStore) -> list[WorkflowSummary]:
    """Every workflow's summary from the rows that can be read, newest first: the
    catalog's own query kept to the readable sequence ranges (each range left out is
    noted). A damaged store's path only."""
    ranges = store.damaged_ranges()
    rows = f" WHERE {readable_within(ranges)}"
    later = f" AND {readable_within(ranges, 'later.sequence')}"
    return [summary_of_row(row) for row in _rows(store, summaries_sql(rows, later), ())]
