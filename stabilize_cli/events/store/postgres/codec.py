"""Rows of the engine's PostgreSQL ``events`` table to :class:`Event` and back.

PostgreSQL hands back typed values: ``data`` a dict (JSONB), ``timestamp`` an aware
datetime (the session runs in UTC). The checks that mean something on SQLite's loose
storage (text in a text column, JSON text that parses) cannot fail here; what can is a
JSONB value that is not an object, or a type or entity name this library does not know.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...base import (
    LEGACY_SCHEMA_VERSION,
    RAW_EVENT_TYPE_KEY,
    EntityType,
    Event,
    EventMetadata,
    EventType,
)
from ...errors import EventDecodeError, StoreError
from ..codec import elidable_kind, elided_event, encode_payload

_JSON_KINDS = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}


def event_from_pg_row(row: tuple[Any, ...]) -> Event:
    """Decode one row; raises :class:`EventDecodeError` rather than inventing values."""
    (
        sequence,
        event_id,
        raw_type,
        stamp,
        raw_entity,
        entity_id,
        workflow_id,
        version,
        data,
        correlation_id,
        causation_id,
        actor,
        source_handler,
        schema_version,
    ) = row
    if type(data) is not dict:
        kind = _JSON_KINDS.get(type(data), "a number")
        raise EventDecodeError(sequence, "data", data, f"JSON is not an object ({kind})")
    event_type = EventType.parse(raw_type)
    if event_type is EventType.UNKNOWN and raw_type != EventType.UNKNOWN.value:
        data[RAW_EVENT_TYPE_KEY] = raw_type
    try:
        entity_type = EntityType(raw_entity)
    except ValueError as exc:
        raise EventDecodeError(sequence, "entity_type", raw_entity, "unknown entity type") from exc
    if not isinstance(stamp, datetime):
        raise EventDecodeError(sequence, "timestamp", stamp, "not a timestamp")
    if stamp.tzinfo is not UTC:
        stamp = stamp.astimezone(UTC)
    return Event(
        event_id=event_id,
        event_type=event_type,
        timestamp=stamp,
        sequence=sequence,
        entity_type=entity_type,
        entity_id=entity_id,
        workflow_id=workflow_id,
        version=version,
        data=data,
        metadata=EventMetadata(
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
            source_handler=source_handler,
        ),
        schema_version=LEGACY_SCHEMA_VERSION if schema_version is None else schema_version,
    )


def elided_event_from_pg_row(row: tuple[Any, ...], payload: dict[str, Any]) -> Event | None:
    """An event whose payload SQL proved needless (see ``elision``); None when anything
    else about the row is not what :func:`event_from_pg_row` reads without a word: the
    caller then reads the row in full."""
    kind = elidable_kind(row[2], row[4], row[13])
    stamp = row[3]
    if kind is None or not isinstance(stamp, datetime):
        return None
    if stamp.tzinfo is not UTC:
        stamp = stamp.astimezone(UTC)
    event_type, schema = kind
    entity = EntityType(row[4])
    return elided_event(
        row[1], event_type, stamp, row[0], entity, row[5], row[6], row[7], payload, schema
    )


_TYPES = {t.value: t for t in EventType if t is not EventType.UNKNOWN}


def event_columns(events: list[Event]) -> tuple[list[Any], ...]:
    """The batch as one list per column (``unnest`` turns them into rows server-side).

    Refuses, before anything is sent, an event PostgreSQL cannot hold: a NUL character
    in any text or in the payload (text and JSONB reject it; the error would otherwise
    name no event).
    """
    columns: tuple[list[Any], ...] = tuple([] for _ in range(13))
    (ids, types, stamps, entities, entity_ids, workflows, versions, payloads) = columns[:8]
    (correlations, causations, actors, handlers, schemas) = columns[8:]
    for event in events:
        data = event.data
        kind = event.event_type
        if kind is EventType.UNKNOWN:
            type_name = event.type_name
            if RAW_EVENT_TYPE_KEY in data:
                data = {k: v for k, v in data.items() if k != RAW_EVENT_TYPE_KEY}
        else:
            type_name = kind._value_
        payload = encode_payload(data)
        meta = event.metadata
        texts = (
            event.event_id,
            type_name,
            event.entity_id,
            event.workflow_id,
            meta.correlation_id or event.workflow_id,
            meta.causation_id,
            meta.actor,
            meta.source_handler,
        )
        if "\\u0000" in payload or any(t is not None and "\x00" in t for t in texts):
            _refuse_nul(event, payload, texts)
        ids.append(event.event_id)
        types.append(type_name)
        stamps.append(event.timestamp)
        entities.append(event.entity_type._value_)
        entity_ids.append(event.entity_id)
        workflows.append(event.workflow_id)
        versions.append(event.version)
        payloads.append(payload)
        correlations.append(texts[4])
        causations.append(meta.causation_id)
        actors.append(meta.actor)
        handlers.append(meta.source_handler)
        schemas.append(event.schema_version)
    return columns


_TEXT_NAMES = (
    "event_id",
    "event_type",
    "entity_id",
    "workflow_id",
    "correlation_id",
    "causation_id",
    "actor",
    "source_handler",
)


def _refuse_nul(event: Event, payload: str, texts: tuple[str | None, ...]) -> None:
    """Raise naming the event and where the NUL is (a ``\\\\u0000`` in the JSON text may be
    an escaped backslash followed by ``u0000``: only a real NUL is refused)."""
    for name, text in zip(_TEXT_NAMES, texts, strict=True):
        if text is not None and "\x00" in text:
            raise StoreError(
                f"event {event.event_id} ({event.type_name}): {name} contains a NUL "
                "character, which PostgreSQL cannot store; nothing was written"
            )
    if _holds_nul(event.data):
        raise StoreError(
            f"event {event.event_id} ({event.type_name}): its data contains a NUL character "
            "(\\u0000), which PostgreSQL's JSONB cannot store; nothing was written"
        )
    del payload


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return "\x00" in str(value) if not isinstance(value, int | float | bool) else False
