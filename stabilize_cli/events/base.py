"""Domain events: what happened to which workflow, stage or task, and when."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .timeutil import ensure_utc, format_timestamp, parse_timestamp, utc_now

RAW_EVENT_TYPE_KEY = "_raw_event_type"


class EventType(StrEnum):
    """Every event type the engine writes, grouped by the entity's lifecycle."""

    WORKFLOW_CREATED = "workflow.created"
    WORKFLOW_STARTED = "workflow.started"
    WORKFLOW_COMPLETED = "workflow.completed"
    WORKFLOW_FAILED = "workflow.failed"
    WORKFLOW_CANCELED = "workflow.canceled"
    WORKFLOW_PAUSED = "workflow.paused"
    WORKFLOW_RESUMED = "workflow.resumed"
    STAGE_STARTED = "stage.started"
    STAGE_COMPLETED = "stage.completed"
    STAGE_FAILED = "stage.failed"
    STAGE_SKIPPED = "stage.skipped"
    STAGE_CANCELED = "stage.canceled"
    STAGE_SUSPENDED = "stage.suspended"
    STAGE_RESUMED = "stage.resumed"
    TASK_STARTED = "task.started"
    TASK_COMPLETED = "task.completed"
    TASK_FAILED = "task.failed"
    TASK_RETRIED = "task.retried"
    TASK_SUSPENDED = "task.suspended"
    STATUS_CHANGED = "status.changed"
    CONTEXT_UPDATED = "context.updated"
    OUTPUTS_UPDATED = "outputs.updated"
    JUMP_EXECUTED = "jump.executed"
    CUSTOM_PROGRESS = "custom.progress"
    UNKNOWN = "unknown.event"

    @classmethod
    def parse(cls, raw: str) -> EventType:
        """Lenient lookup for data read from disk: an unknown string gives ``UNKNOWN``."""
        try:
            return cls(raw)
        except ValueError:
            return cls.UNKNOWN


class EntityType(StrEnum):
    """The three kinds of entity that emit events."""

    WORKFLOW = "workflow"
    STAGE = "stage"
    TASK = "task"


TERMINAL_WORKFLOW_EVENTS = frozenset(
    {EventType.WORKFLOW_COMPLETED, EventType.WORKFLOW_FAILED, EventType.WORKFLOW_CANCELED}
)


@dataclass(frozen=True, slots=True)
class EventMetadata:
    """Tracing data carried by every event: which run, what caused it, who did it."""

    correlation_id: str
    causation_id: str | None = None
    actor: str | None = "system"
    """None when the store holds NULL (ours: the engine reads that as "system")."""
    source_handler: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "actor": self.actor,
            "source_handler": self.source_handler,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventMetadata:
        return cls(
            correlation_id=str(data.get("correlation_id") or ""),
            causation_id=data.get("causation_id"),
            actor=data.get("actor") or "system",
            source_handler=data.get("source_handler"),
        )


def new_event_id() -> str:
    """A ULID, so that ids sort by creation time."""
    from ulid import ULID  # noqa: PLC0415 - python-ulid reads package metadata at import (25 ms)

    return str(ULID())


def _empty_metadata() -> EventMetadata:
    return EventMetadata(correlation_id="")


@dataclass(frozen=True, slots=True)
class Event:
    """One immutable, append-only fact; the store assigns ``sequence`` on append."""

    event_id: str = field(default_factory=new_event_id)
    event_type: EventType = EventType.STATUS_CHANGED
    timestamp: datetime = field(default_factory=utc_now)
    sequence: int = 0
    entity_type: EntityType = EntityType.WORKFLOW
    entity_id: str = ""
    workflow_id: str = ""
    version: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    metadata: EventMetadata = field(default_factory=_empty_metadata)
    schema_version: int = 1

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset():
            object.__setattr__(self, "timestamp", ensure_utc(self.timestamp))

    @property
    def type_name(self) -> str:
        """The type as written on disk, also for types this library does not know."""
        if self.event_type is EventType.UNKNOWN:
            raw = self.data.get(RAW_EVENT_TYPE_KEY)
            if isinstance(raw, str):
                return raw
        return self.event_type.value

    def with_sequence(self, sequence: int) -> Event:
        """A copy carrying the sequence number the store assigned."""
        return dataclasses.replace(self, sequence=sequence)

    def to_dict(self) -> dict[str, Any]:
        """The engine's JSON form of an event."""
        return {
            "event_id": self.event_id,
            "event_type": self.event_type.value,
            "timestamp": format_timestamp(self.timestamp),
            "sequence": self.sequence,
            "entity_type": self.entity_type.value,
            "entity_id": self.entity_id,
            "workflow_id": self.workflow_id,
            "version": self.version,
            "data": self.data,
            "metadata": self.metadata.to_dict(),
            "schema_version": self.schema_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        payload = dict(data.get("data") or {})
        raw_type = str(data.get("event_type", EventType.STATUS_CHANGED.value))
        event_type = EventType.parse(raw_type)
        if event_type is EventType.UNKNOWN and raw_type != EventType.UNKNOWN.value:
            payload.setdefault(RAW_EVENT_TYPE_KEY, raw_type)
        return cls(
            event_id=str(data.get("event_id") or new_event_id()),
            event_type=event_type,
            timestamp=_timestamp_from(data.get("timestamp")),
            sequence=int(data.get("sequence", 0)),
            entity_type=EntityType(data.get("entity_type", EntityType.WORKFLOW.value)),
            entity_id=str(data.get("entity_id", "")),
            workflow_id=str(data.get("workflow_id", "")),
            version=int(data.get("version", 0)),
            data=payload,
            metadata=EventMetadata.from_dict(data.get("metadata") or {}),
            schema_version=int(data.get("schema_version", 1)),
        )


def _timestamp_from(value: object) -> datetime:
    if isinstance(value, datetime):
        return ensure_utc(value)
    if isinstance(value, str):
        return parse_timestamp(value)
    if value is None:
        return utc_now()
    raise ValueError(f"not a timestamp: {value!r}")
