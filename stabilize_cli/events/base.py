"""Domain events: what happened to which workflow, stage or task, and when."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .timeutil import ensure_utc, format_timestamp, parse_timestamp, utc_now
from .ulids import new_ulid

log = logging.getLogger(__name__)

RAW_EVENT_TYPE_KEY = "_raw_event_type"
RAW_EVENT_TYPE = RAW_EVENT_TYPE_KEY
"""The engine's name for the payload key keeping an unknown type's stored string."""

CURRENT_SCHEMA_VERSION = 1
"""The payload layout this build writes and folds. Read at call time (never copied), so
a test or a later release that raises it is seen by migration and replay alike."""
LEGACY_SCHEMA_VERSION = 1
"""What an event stored without a ``schema_version`` is: the first layout (the column's
``DEFAULT 1``), whatever :data:`CURRENT_SCHEMA_VERSION` has become since."""


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
    CUSTOM = "custom.progress"
    CUSTOM_PROGRESS = "custom.progress"  # ours: an alias of CUSTOM, kept for older callers
    UNKNOWN = "unknown.event"

    @classmethod
    def parse(cls, raw: str) -> EventType:
        """Lenient lookup for data read from disk: an unknown string gives ``UNKNOWN``."""
        try:
            return cls(raw)
        except ValueError:
            return cls.UNKNOWN


def parse_event_type(value: str) -> EventType:
    """The type for a stored string, ``UNKNOWN`` for one this build does not know, so one
    row written by a newer engine cannot fail a whole query."""
    return EventType.parse(value)


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
    return new_ulid()


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
    schema_version: int = CURRENT_SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset():
            object.__setattr__(self, "timestamp", ensure_utc(self.timestamp))

    @property
    def type_name(self) -> str:
        """The type as written on disk, also for types this library does not know."""
        kind = self.event_type
        if kind is EventType.UNKNOWN:
            raw = self.data.get(RAW_EVENT_TYPE_KEY)
            if isinstance(raw, str):
                return raw
        return kind._value_  # not .value: an enum property, read five times per event

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
            schema_version=int(data.get("schema_version", LEGACY_SCHEMA_VERSION)),
        )


def _timestamp_from(value: object) -> datetime:
    if isinstance(value, datetime):
        return ensure_utc(value)
    if isinstance(value, str):
        return parse_timestamp(value)
    if value is None:
        return utc_now()
    raise ValueError(f"not a timestamp: {value!r}")


def create_workflow_event(
    event_type: EventType,
    workflow_id: str,
    version: int,
    data: dict[str, Any],
    metadata: EventMetadata,
) -> Event:
    """An event about the workflow itself: its entity id is the workflow id."""
    return Event(
        event_type=event_type,
        entity_type=EntityType.WORKFLOW,
        entity_id=workflow_id,
        workflow_id=workflow_id,
        version=version,
        data=data,
        metadata=metadata,
    )


def create_stage_event(
    event_type: EventType,
    stage_id: str,
    workflow_id: str,
    version: int,
    data: dict[str, Any],
    metadata: EventMetadata,
) -> Event:
    """An event about one stage of ``workflow_id``."""
    return Event(
        event_type=event_type,
        entity_type=EntityType.STAGE,
        entity_id=stage_id,
        workflow_id=workflow_id,
        version=version,
        data=data,
        metadata=metadata,
    )


def create_task_event(
    event_type: EventType,
    task_id: str,
    workflow_id: str,
    version: int,
    data: dict[str, Any],
    metadata: EventMetadata,
) -> Event:
    """An event about one task of ``workflow_id``."""
    return Event(
        event_type=event_type,
        entity_type=EntityType.TASK,
        entity_id=task_id,
        workflow_id=workflow_id,
        version=version,
        data=data,
        metadata=metadata,
    )


Migration = Callable[[Event], Event]


class EventMigrator:
    """Upcasts stored events to a newer payload layout, so replay folds old rows as new.

    Migrations are registered per step (``from_version`` -> ``to_version``) and applied
    one version at a time, v -> v+1, as the engine walks them: a step registered as
    1 -> 3 is never used. Registering a step again replaces it.
    """

    def __init__(self) -> None:
        self._steps: dict[tuple[int, int], Migration] = {}

    def register(self, from_version: int, to_version: int) -> Callable[[Migration], Migration]:
        """A decorator registering the function as the step and returning it unchanged."""

        def decorator(migration: Migration) -> Migration:
            self._steps[(from_version, to_version)] = migration
            return migration

        return decorator

    @property
    def registered_migrations(self) -> list[tuple[int, int]]:
        """Every registered step, in order."""
        return sorted(self._steps)

    def migrate(
        self, event: Event, target_version: int | None = None, strict: bool = True
    ) -> Event:
        """``event`` at ``target_version`` (default: ``CURRENT_SCHEMA_VERSION``).

        Already there: the same object. Newer than the target: strict raises
        ``ValueError``, lenient logs a warning and returns it as is. A missing step:
        strict raises ``ValueError``, lenient returns the event as migrated so far (the
        read path is lenient, so an incomplete registry never breaks a replay). An
        exception raised by a migration itself is not caught.
        """
        target = CURRENT_SCHEMA_VERSION if target_version is None else target_version
        if event.schema_version == target:
            return event
        if event.schema_version > target:
            message = (
                f"Event {event.event_id} has schema v{event.schema_version}, newer than"
                f" this build's v{target}; refusing to apply it"
            )
            if strict:
                raise ValueError(message)
            log.warning("%s", message)
            return event
        migrated = event
        for version in range(event.schema_version, target):
            step = self._steps.get((version, version + 1))
            if step is None:
                if strict:
                    raise ValueError(
                        f"No migration registered from schema v{version} to v{version + 1}"
                    )
                return migrated
            migrated = step(migrated)
        return migrated


_migrator: EventMigrator | None = None
_migrator_lock = threading.Lock()


def get_event_migrator() -> EventMigrator:
    """The process-wide migrator replay applies, created empty on first use: register
    steps on it to have old events upcast when they are folded."""
    global _migrator  # noqa: PLW0603 - the engine's API is a module-level singleton
    migrator = _migrator
    if migrator is None:
        with _migrator_lock:
            if _migrator is None:
                _migrator = EventMigrator()
            migrator = _migrator
    return migrator


def reset_event_migrator() -> None:
    """Forget the global migrator and its steps; the next ``get_event_migrator`` makes a
    new, empty one (for tests)."""
    global _migrator  # noqa: PLW0603
    with _migrator_lock:
        _migrator = None
