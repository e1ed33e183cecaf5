"""An EventQuery as SQL: the WHERE clause, and the exact timestamp test SQL cannot do.

Timestamps are compared as text only as a widened pre-filter (an index can serve it);
the exact comparison happens on parsed instants, so other offsets and a trailing ``Z``
are filtered correctly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ...base import EntityType, Event, EventType
from ...timeutil import ensure_utc, format_timestamp
from ..interface import EventQuery
from ..raw import UnreadableRow

TIMESTAMP_MARGIN = timedelta(days=1)
"""Widening of the SQL pre-filter on the timestamp text; the exact test happens after parsing."""


@dataclasses.dataclass(frozen=True)
class CompiledQuery:
    """A query compiled to SQL, plus the exact timestamp test SQL cannot do."""

    where: str
    params: tuple[Any, ...]
    exact: Callable[[Event | UnreadableRow], bool] | None


def compile_query(query: EventQuery, *, sequence_bounds: bool = True) -> CompiledQuery:
    """``sequence_bounds=False`` leaves ``from_sequence``/``to_sequence`` out: a keyset
    stream carries them in its own page bounds (see ``_stream_by_sequence``)."""
    clauses: list[str] = ["1 = 1"]
    params: list[Any] = []
    if query.entity_type is not None:
        clauses.append("entity_type = ?")
        params.append(EntityType(query.entity_type).value)
    if query.entity_id is not None:
        clauses.append("entity_id = ?")
        params.append(query.entity_id)
    if query.workflow_id is not None:
        clauses.append("workflow_id = ?")
        params.append(query.workflow_id)
    if query.event_types is not None:
        types = [EventType(t).value for t in query.event_types]
        clauses.append(f"event_type IN ({', '.join('?' for _ in types)})" if types else "0 = 1")
        params.extend(types)
    if query.from_sequence is not None and sequence_bounds:
        clauses.append("sequence > ?")  # after from_sequence, as the engine reads it
        params.append(query.from_sequence)
    if query.to_sequence is not None and sequence_bounds:
        clauses.append("sequence <= ?")
        params.append(query.to_sequence)
    lower = None if query.from_timestamp is None else ensure_utc(query.from_timestamp)
    upper = None if query.to_timestamp is None else ensure_utc(query.to_timestamp)
    if lower is not None and lower - datetime.min.replace(tzinfo=UTC) > TIMESTAMP_MARGIN:
        clauses.append("timestamp >= ?")
        params.append(format_timestamp(lower - TIMESTAMP_MARGIN))
    if upper is not None and datetime.max.replace(tzinfo=UTC) - upper > TIMESTAMP_MARGIN:
        clauses.append("timestamp <= ?")
        params.append(format_timestamp(upper + TIMESTAMP_MARGIN))
    exact = _timestamp_test(lower, upper) if lower is not None or upper is not None else None
    return CompiledQuery(" AND ".join(clauses), tuple(params), exact)


def _timestamp_test(
    lower: datetime | None, upper: datetime | None
) -> Callable[[Event | UnreadableRow], bool]:
    def test(event: Event | UnreadableRow) -> bool:
        moment = event.timestamp
        if moment is None:
            return True  # unreadable: kept, as the SQL pre-filter on its text kept it
        if lower is not None and moment < lower:
            return False
        return upper is None or moment <= upper

    return test
