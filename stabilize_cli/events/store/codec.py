"""Rows of the ``events`` table to :class:`Event` and back, in the engine's encoding."""

from __future__ import annotations

import json
from typing import Any

from ..base import RAW_EVENT_TYPE_KEY, EntityType, Event, EventMetadata, EventType
from ..errors import EventDecodeError
from ..timeutil import format_timestamp, parse_timestamp

EventRow = tuple[Any, ...]
"""Columns in :data:`schema.EVENT_COLUMNS` order."""


def encode_payload(value: dict[str, Any]) -> str:
    return json.dumps(value, default=str)


def event_to_params(event: Event) -> tuple[Any, ...]:
    """Insert parameters (all columns but ``sequence``, which SQLite assigns)."""
    data = event.data
    if event.event_type is EventType.UNKNOWN and RAW_EVENT_TYPE_KEY in data:
        data = {k: v for k, v in data.items() if k != RAW_EVENT_TYPE_KEY}
    meta = event.metadata
    return (
        event.event_id,
        event.type_name,
        format_timestamp(event.timestamp),
        event.entity_type.value,
        event.entity_id,
        event.workflow_id,
        event.version,
        encode_payload(data),
        meta.correlation_id or event.workflow_id,
        meta.causation_id,
        meta.actor,
        meta.source_handler,
        event.schema_version,
    )


def event_from_row(row: EventRow) -> Event:
    """Decode one row; raises :class:`EventDecodeError` rather than inventing values."""
    (
        sequence,
        event_id,
        raw_type,
        raw_ts,
        raw_entity,
        entity_id,
        workflow_id,
        version,
        raw_data,
        correlation_id,
        causation_id,
        actor,
        source_handler,
        schema_version,
    ) = row
    data = _decode_data(sequence, raw_data)
    event_type = EventType.parse(str(raw_type))
    if event_type is EventType.UNKNOWN and raw_type != EventType.UNKNOWN.value:
        data[RAW_EVENT_TYPE_KEY] = raw_type
    try:
        entity_type = EntityType(raw_entity)
    except ValueError as exc:
        raise EventDecodeError(sequence, "entity_type", raw_entity, "unknown entity type") from exc
    try:
        timestamp = parse_timestamp(raw_ts)
    except (TypeError, ValueError, AttributeError) as exc:
        raise EventDecodeError(sequence, "timestamp", raw_ts, "not an ISO 8601 time") from exc
    return Event(
        event_id=event_id,
        event_type=event_type,
        timestamp=timestamp,
        sequence=sequence,
        entity_type=entity_type,
        entity_id=entity_id,
        workflow_id=workflow_id,
        version=version,
        data=data,
        metadata=EventMetadata(
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor if actor is not None else "system",
            source_handler=source_handler,
        ),
        schema_version=schema_version if schema_version is not None else 1,
    )


def _decode_data(sequence: int, raw: object) -> dict[str, Any]:
    if raw is None:
        raise EventDecodeError(sequence, "data", raw, "NULL payload")
    try:
        value = json.loads(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError, RecursionError) as exc:
        raise EventDecodeError(sequence, "data", raw, "not valid JSON") from exc
    if not isinstance(value, dict):
        raise EventDecodeError(sequence, "data", raw, "JSON is not an object")
    return value
