"""SQL that finds the payloads a redactor must read before showing a workflow.

A workflow declares secrets in a payload (``"secrets": ["db_password"]``), maybe after the
events that hold the values; so before any event of it is shown, the payloads that
mention the declaration (and then the declared names) are read. ``LIKE`` is only a
pre-filter (a superset: it ignores ASCII case, and ``_``/``%`` in a needle match more);
the caller parses the JSON and decides. Pages are short statements, as everywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ...events.errors import StoreCorruptError, StoreError
from ...events.store.sqlite.store import SqliteEventStore
from ..contracts import UNPARSEABLE, json_needle
from .metrics_sql import MAX_SEQUENCE, readable_within

PAGE_SIZE = 500
_MENTIONING = (
    "SELECT sequence, data FROM events WHERE workflow_id IS ? AND sequence > ? AND ({}) "
    "ORDER BY sequence LIMIT ?"
)
_MENTIONING_WITHIN = "SELECT sequence, data FROM events WHERE +workflow_id IS ? AND ({})"
"""``+``: not through the index (it may be what is damaged); the rowid ranges are sought."""
_HOLDS = (
    "SELECT 1 FROM events INDEXED BY idx_events_workflow "
    "WHERE workflow_id IS ? AND sequence >= ? AND sequence <= ? LIMIT 1"
)
_DECLARING = (
    "SELECT sequence, workflow_id FROM events WHERE sequence > ? AND data LIKE ? "
    "ORDER BY sequence LIMIT ?"
)

_DECLARING_WITHIN = "SELECT DISTINCT workflow_id FROM events WHERE sequence > ? AND data LIKE ?"
_HOLDING = (
    "SELECT DISTINCT workflow_id FROM events INDEXED BY idx_events_workflow "
    "WHERE sequence >= ? AND sequence <= ?"
)
"""The workflows with a row in a damaged range, from the index alone (it holds
``workflow_id`` and the sequence): the table's damaged rows are never read."""


def payloads_mentioning(
    store: SqliteEventStore, workflow_id: str | None, needles: Iterable[str]
) -> Iterator[Any]:
    """The parsed payloads of one workflow whose JSON text contains any of ``needles``;
    :data:`UNPARSEABLE` for one that does not parse (it may declare what cannot be read).

    On a damaged page (read with notes), the workflow's rows are read again without the
    index, outside the table's damaged ranges (a payload may come twice), and the damage
    is raised only when the workflow may have a row inside one of them.
    """
    likes = [f"%{needle}%" for needle in needles]
    if not likes:
        return
    matching = " OR ".join("data LIKE ?" for _ in likes)
    try:
        yield from _by_index(store, _MENTIONING.format(matching), workflow_id, likes)
        return
    except StoreCorruptError:
        if store.notes is None:
            raise
    ranges = store.damaged_ranges()
    if _may_hold(store, workflow_id, ranges):
        raise StoreCorruptError(f"{store.path}: a row of the workflow is on a damaged page")
    sql = f"{_MENTIONING_WITHIN.format(matching)} AND {readable_within(ranges)}"
    for _, raw in store.fetch_all(sql, (workflow_id, *likes)):
        yield _parse(raw)


def _by_index(
    store: SqliteEventStore, sql: str, workflow_id: str | None, likes: list[str]
) -> Iterator[Any]:
    after = -(2**63)
    while True:
        rows = store.fetch_all(sql, (workflow_id, after, *likes, PAGE_SIZE))
        for _, raw in rows:
            yield _parse(raw)
        if len(rows) < PAGE_SIZE:
            return
        after = rows[-1][0]


def _may_hold(
    store: SqliteEventStore, workflow_id: str | None, ranges: list[tuple[int, int | None]]
) -> bool:
    """Whether the workflow may have a row in a damaged range (True when the index,
    which alone can tell without reading the rows, cannot be read either)."""
    for first, last in ranges:
        bounds = (workflow_id, first, MAX_SEQUENCE if last is None else last)
        try:
            if store.fetch_all(_HOLDS, bounds):
                return True
        except StoreError:
            return True
    return False


def workflows_declaring(
    store: SqliteEventStore, key: str, *, after: int = -(2**63)
) -> set[str | None]:
    """Every workflow with a payload that mentions ``key`` (one pass over the table, or
    over the events after sequence ``after``)."""
    found: set[str | None] = set()
    needle = f"%{json_needle(key)}%"
    try:
        while True:
            rows = store.fetch_all(_DECLARING, (after, needle, PAGE_SIZE))
            found.update(workflow_id for _, workflow_id in rows)
            if len(rows) < PAGE_SIZE:
                return found
            after = rows[-1][0]
    except StoreCorruptError:
        if store.notes is None:
            raise
        ranges = store.damaged_ranges()
        if not ranges:
            raise
    # A damaged page (an audit): the rows outside the damaged ranges, in one statement
    # that seeks the readable ranges, and every workflow with a row in a damaged range:
    # its declaration may be there.
    sql = f"{_DECLARING_WITHIN} AND {readable_within(ranges)}"
    found |= {r[0] for r in store.fetch_all(sql, (after, needle))}
    return found | _holding(store, ranges, after)


def _holding(
    store: SqliteEventStore, ranges: list[tuple[int, int | None]], after: int
) -> set[str | None]:
    """Workflows with a row in one of the damaged ranges (after ``after``); the damage
    raised when the index cannot tell (it is damaged too, or missing)."""
    found: set[str | None] = set()
    for first, last in ranges:
        if last is not None and last <= after:
            continue
        bounds = (max(first, after + 1), MAX_SEQUENCE if last is None else last)
        try:
            found.update(r[0] for r in store.fetch_all(_HOLDING, bounds))
        except StoreError as error:
            raise StoreCorruptError(f"{store.path}: {error}") from error
    return found


def _parse(raw: object) -> Any:
    if not isinstance(raw, str | bytes):
        return None  # NULL or a number: nothing declared in it
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return UNPARSEABLE
