"""Rows of the ``events`` table to :class:`Event` and back, in the engine's encoding."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from datetime import UTC
from json.encoder import encode_basestring_ascii
from typing import Any

from .. import base
from ..base import (
    LEGACY_SCHEMA_VERSION,
    RAW_EVENT_TYPE_KEY,
    EntityType,
    Event,
    EventMetadata,
    EventType,
)
from ..errors import EventDecodeError
from ..timeutil import OUT_OF_RANGE, TimeRangeError, format_timestamp, parse_timestamp

EventRow = tuple[Any, ...]
"""Columns in :data:`schema.EVENT_COLUMNS` order."""


_make_c_encoder: Callable[..., Callable[[Any, int], Iterable[str]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)
"""CPython's accelerator: the encoder ``json.dumps`` runs, without its Python layers."""
_ENCODE = json.JSONEncoder(default=str).encode


def encode_payload(value: dict[str, Any]) -> str:
    """``json.dumps(value, default=str)``; once per appended event, so the C encoder is
    called directly (a fresh one per call: it keeps the circular-reference marks)."""
    if _make_c_encoder is None:
        return _ENCODE(value)
    encode = _make_c_encoder({}, str, encode_basestring_ascii, None, ": ", ", ", False, False, True)
    return "".join(encode(value, 0))


def event_to_params(event: Event) -> tuple[Any, ...]:
    """Insert parameters (all columns but ``sequence``, which SQLite assigns).

    Runs once per appended event: enum values are read as ``_value_`` (``.value`` is a
    descriptor call) and a UTC timestamp, as every event holds, is formatted directly.
    """
    data = event.data
    kind = event.event_type
    if kind is EventType.UNKNOWN:
        type_name = event.type_name
        if RAW_EVENT_TYPE_KEY in data:
            data = {k: v for k, v in data.items() if k != RAW_EVENT_TYPE_KEY}
    else:
        type_name = kind._value_
    stamp = event.timestamp
    meta = event.metadata
    return (
        event.event_id,
        type_name,
        stamp.isoformat() if stamp.tzinfo is UTC else format_timestamp(stamp),
        event.entity_type._value_,
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
    """Decode one row; raises :class:`EventDecodeError` rather than inventing values.

    Columns must hold what the engine writes: text in the text columns (a BLOB or a
    number there is refused, not shown as ``b'...'``), integers in the version columns.
    """
    _check_storage(row)
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
    except TimeRangeError as exc:
        raise EventDecodeError(sequence, "timestamp", raw_ts, OUT_OF_RANGE) from exc
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
            actor=actor,
            source_handler=source_handler,
        ),
        schema_version=LEGACY_SCHEMA_VERSION if schema_version is None else schema_version,
    )


def elided_event_from_row(row: EventRow, payload: dict[str, Any]) -> Event | None:
    """An event whose payload the store proved needless (see ``elision``), with
    ``payload`` as its data and :data:`NOT_READ` as its metadata; None when anything else about the
    row is not what :func:`event_from_row` would read without a word (a storage class,
    an entity that is not the type's own, another schema version, an odd timestamp):
    the caller then reads the row in full."""
    try:
        _check_storage(row)
    except EventDecodeError:
        return None
    kind = elidable_kind(row[2], row[4], row[13])
    if kind is None:
        return None
    try:
        timestamp = parse_timestamp(row[3])
    except ValueError:
        return None
    event_type, schema = kind
    entity = _ENTITIES[row[4]]
    return elided_event(
        row[1], event_type, timestamp, row[0], entity, row[5], row[6], row[7], payload, schema
    )


def elidable_kind(
    raw_type: Any, raw_entity: Any, schema_version: Any
) -> tuple[EventType, int] | None:
    """The event type and schema version of a row whose payload may stay unread: a known
    type of its own entity, at the current schema version (None: read it in full). Both
    backends' codecs ask this."""
    event_type = _TYPES.get(raw_type)
    if event_type is None or raw_type.partition(".")[0] != raw_entity:
        return None
    schema = LEGACY_SCHEMA_VERSION if schema_version is None else schema_version
    return None if schema != base.CURRENT_SCHEMA_VERSION else (event_type, schema)


(
    _ID,
    _TYPE,
    _TIME,
    _SEQUENCE,
    _ENTITY,
    _ENTITY_ID,
    _WORKFLOW,
    _VERSION,
    _DATA,
    _METADATA,
    _SCHEMA,
) = (getattr(Event, f.name).__set__ for f in dataclasses.fields(Event))


def elided_event(
    event_id: str,
    event_type: EventType,
    timestamp: Any,
    sequence: int,
    entity_type: EntityType,
    entity_id: str,
    workflow_id: str,
    version: int,
    data: dict[str, Any],
    schema_version: int,
) -> Event:
    """``Event(..., metadata=NOT_READ)`` at two thirds of the cost, once per retry of a
    long poll: the frozen class's ``__init__`` sets each slot through
    ``object.__setattr__``; here each slot's own setter does. Its ``__post_init__`` has
    nothing to do: the timestamp is a parsed UTC one."""
    event: Event = object.__new__(Event)
    _ID(event, event_id)
    _TYPE(event, event_type)
    _TIME(event, timestamp)
    _SEQUENCE(event, sequence)
    _ENTITY(event, entity_type)
    _ENTITY_ID(event, entity_id)
    _WORKFLOW(event, workflow_id)
    _VERSION(event, version)
    _DATA(event, data)
    _METADATA(event, NOT_READ)
    _SCHEMA(event, schema_version)
    return event


NOT_READ = EventMetadata(correlation_id="", actor=None)
"""The metadata of an event read without its payload: none of it was read."""
_TYPES = {t.value: t for t in EventType if t is not EventType.UNKNOWN}
_ENTITIES = {e.value: e for e in EntityType}
_TEXT: tuple[tuple[int, str], ...] = tuple(
    enumerate(("event_id", "event_type", "timestamp", "entity_type", "entity_id", "workflow_id"), 1)
)
_TEXT_OR_NULL: tuple[tuple[int, str], ...] = tuple(
    enumerate(("correlation_id", "causation_id", "actor", "source_handler"), 9)
)


def _check_storage(row: EventRow) -> None:
    """Refuse a value of the wrong storage class (``type() is``: one test per column)."""
    for index, column in _TEXT:
        if type(row[index]) is not str:
            raise EventDecodeError(row[0], column, row[index], _not_text(row[index]))
    for index, column in _TEXT_OR_NULL:
        value = row[index]
        if value is not None and type(value) is not str:
            raise EventDecodeError(row[0], column, value, _not_text(value))
    if type(row[7]) is not int:
        raise EventDecodeError(row[0], "version", row[7], f"{_stored_as(row[7])}, not an integer")
    if row[13] is not None and type(row[13]) is not int:
        raise EventDecodeError(
            row[0], "schema_version", row[13], f"{_stored_as(row[13])}, not an integer"
        )


def _stored_as(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return "stored as a BLOB"
    return "stored as text" if isinstance(value, str) else "stored as a number"


def _not_text(value: object) -> str:
    return "NULL" if value is None else f"{_stored_as(value)}, not text"


_JSON_KINDS = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}


def _decode_data(sequence: int, raw: object) -> dict[str, Any]:
    if raw is None:
        raise EventDecodeError(sequence, "data", raw, "NULL payload")
    if not isinstance(raw, str):
        raise EventDecodeError(sequence, "data", raw, f"{_stored_as(raw)}, not JSON text")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise EventDecodeError(sequence, "data", raw, _json_problem(raw, exc)) from exc
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), "a number")
        raise EventDecodeError(sequence, "data", raw, f"JSON is not an object ({kind})")
    return value


def _json_problem(raw: str, error: Exception) -> str:
    """Why ``json.loads`` refused the payload, in words a reader can act on."""
    if isinstance(error, RecursionError):
        return "not valid JSON (nested too deeply to read)"
    if raw.startswith("\ufeff"):
        return "not valid JSON (starts with a byte order mark)"
    if "digits" in str(error):
        return "not readable JSON (an integer with more than 4300 digits)"
    return "not valid JSON"
