"""Recording events, and the process-wide recorder the engine's handlers use."""

from __future__ import annotations

from ..bus import configure_event_bus
from ..store.interface import EventStore
from .context import (
    EventContext,
    clear_event_context,
    event_context,
    get_event_context,
    get_event_metadata,
    set_event_context,
)
from .entities import StageRecord, TaskRecord, WorkflowRecord
from .recorder import EventRecorder

_recorder: EventRecorder | None = None


def get_event_recorder() -> EventRecorder | None:
    """The global recorder, or None when event sourcing is not configured."""
    return _recorder


def configure_event_recorder(event_store: EventStore, publish_to_bus: bool = True) -> EventRecorder:
    global _recorder  # noqa: PLW0603 - the engine's API is a process-wide recorder
    _recorder = EventRecorder(event_store, publish_to_bus=publish_to_bus)
    return _recorder


def reset_event_recorder() -> None:
    """Forget the global recorder (for tests)."""
    global _recorder  # noqa: PLW0603
    _recorder = None


def configure_event_sourcing(
    event_store: EventStore, publish_to_bus: bool = True, bus_max_workers: int = 4
) -> EventRecorder:
    """Set up the global bus and recorder in one call."""
    configure_event_bus(max_workers=bus_max_workers)
    return configure_event_recorder(event_store, publish_to_bus=publish_to_bus)


__all__ = [
    "EventContext",
    "EventRecorder",
    "StageRecord",
    "TaskRecord",
    "WorkflowRecord",
    "clear_event_context",
    "configure_event_recorder",
    "configure_event_sourcing",
    "event_context",
    "get_event_context",
    "get_event_metadata",
    "get_event_recorder",
    "reset_event_recorder",
    "set_event_context",
]
